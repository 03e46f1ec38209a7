"""Websockets under ``djng.asgi``: the ``WebSocket`` a handler talks through, and its route's view.

A websocket connection is served as a request like any other: ``djng.asgi``
builds a Django request from the handshake (a ``GET`` with its headers and
cookies), starts it in a context of its own (the Host is checked, then the
``Origin``: :func:`check_origin`), and sends it through the app's layers, so
``djng.reconfigure``, ``djng.sessions``, ``djng.auth`` and middleware do what
they do for HTTP. The request carries its connection in ``request.META``
(:data:`CONNECTION`). The endpoint it reaches, a :func:`djng.websocket` route's
:class:`WebSocketEndpoint`, runs the handler there, inside every layer: the
services they push are in effect for the whole connection, and a handler's
exception goes out through them, reported as a view's would be. The adapter
then closes the connection by what came back (``djng.asgi``).

An HTTP request to a websocket route is answered 426 (it is also the answer
under WSGI, where websockets cannot be served); a websocket connection that
reaches an HTTP endpoint is refused as a 404 (``djng.handler``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase

from .layers import async_of
from .responses import error_response
from .services.hosts import allowed
from .workers import RequestWorker, in_worker

__all__ = [
    "CONNECTION", "WebSocket", "WebSocketDisconnect", "WebSocketEndpoint", "WebSocketState",
    "check_origin", "not_a_websocket_route",
]

#: The ``request.META`` key of a websocket request's connection (set by ``djng.asgi``).
CONNECTION = "djng.websocket"

Handler = Callable[..., Awaitable[None]]

#: The mark of a layer that may wrap a websocket handler (it takes the websocket where
#: a view takes the request, and answers a refusal with an HTTP response).
WRAPS_WEBSOCKETS = "djng_wraps_websockets"

#: Django's encoder (dates, decimals, UUIDs), compact; made once.
_to_json = DjangoJSONEncoder(separators=(",", ":")).encode

#: Messages from the client a handler may leave unread before the client must wait.
BACKLOG = 64


class WebSocketState(enum.Enum):
    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


class WebSocketDisconnect(Exception):  # noqa: N818 - the name users know from Starlette
    """The client closed the connection (``code`` is its close code, 1006 if it just left)."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        super().__init__(f"the websocket was closed ({code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason or ""


class WebSocket:
    """One websocket connection, as its handler sees it (Starlette's names).

    ``request`` is the Django request of the handshake (headers, cookies,
    ``GET``, ``session`` and ``user`` when those layers are there);
    ``path_params`` what the route captured. ``client_state`` and
    ``application_state`` are :class:`WebSocketState`: whether each side still
    has the connection open.
    """

    def __init__(self, scope: dict, receive: Callable, send: Callable) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.request: HttpRequest | None = None
        self.path_params: dict[str, Any] = {}
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        #: Whether a websocket route's handler took the connection.
        self.handled = False
        #: True once the client left while the handler awaited something else (it was
        #: cancelled then, as a request is when its client leaves).
        self.left_while_busy = False
        self._messages: asyncio.Queue | None = None
        self._receiving = 0
        self._reader: asyncio.Task | None = None

    def __repr__(self) -> str:
        return f"<WebSocket {self.scope.get('path')} {self.application_state.name.lower()}>"

    # -- what the handshake brought ------------------------------------------------------

    @property
    def session(self) -> Any:
        """The session (``djng.sessions`` or ``djng.auth`` around the route)."""
        return _needs(self.request, "session", "djng.sessions(app) or djng.auth(app)")

    @property
    def user(self) -> Any:
        """The user who opened the connection (``djng.auth`` around the route)."""
        return _needs(self.request, "user", "djng.auth(app)")

    # -- the handshake ---------------------------------------------------------------------

    async def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[str, str]] | None = None
    ) -> None:
        """Accept the connection, with ``subprotocol`` (one the client offered) and headers."""
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError(f"{self!r} was accepted or closed already")
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                  for k, v in headers]
        await self._send_message(message)
        self.application_state = WebSocketState.CONNECTED
        self._read_from_now_on(asyncio.current_task())

    def _read_from_now_on(self, handler: asyncio.Task | None) -> None:
        """Read the client's messages as they come, for :meth:`receive`: a client that
        leaves while the handler awaits something else (a subscription, a sleep)
        cancels the handler, which then ends (its ``async with`` blocks exit)."""
        # Bounded: a client sending to a handler that does not read waits (the server's
        # flow control holds it) instead of growing this process's memory.
        self._messages = asyncio.Queue(maxsize=BACKLOG)
        self._reader = asyncio.get_running_loop().create_task(self._read(handler))

    async def _read(self, handler: asyncio.Task | None) -> None:
        while (message := await self._receive())["type"] != "websocket.disconnect":
            await self._messages.put(message)
        with contextlib.suppress(asyncio.QueueFull):  # a full queue: the handler is busy
            self._messages.put_nowait(message)
        if not self._receiving and handler is not None and not handler.done():
            self.left_while_busy = True
            handler.cancel()

    def stop_reading(self) -> None:
        """The handler is done (``djng.asgi``): no more reading."""
        if self._reader is not None:
            self._reader.cancel()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (before :meth:`accept`: refuse it, a 403 to the client)."""
        if self.application_state is WebSocketState.DISCONNECTED:
            return
        self.application_state = WebSocketState.DISCONNECTED
        if self.client_state is WebSocketState.DISCONNECTED:
            return  # the client is gone: nothing to tell it
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason or ""})
        except OSError:  # uvicorn's ClientDisconnected: it left meanwhile
            self.client_state = WebSocketState.DISCONNECTED

    # -- receiving -------------------------------------------------------------------------

    async def receive(self) -> dict:
        """The next ASGI message: ``websocket.receive`` (``text`` or ``bytes``) or
        ``websocket.disconnect``."""
        if self.application_state is WebSocketState.CONNECTING:
            raise RuntimeError("await ws.accept() before receiving from the websocket")
        if self.client_state is WebSocketState.DISCONNECTED:
            raise RuntimeError("the client has disconnected: there is nothing more to receive")
        if self._messages is None:
            message = await self._receive()
        else:
            self._receiving += 1
            try:
                message = await self._messages.get()
            finally:
                self._receiving -= 1
        if message["type"] == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        return message

    async def receive_text(self) -> str:
        """The next text message; :class:`WebSocketDisconnect` when the client leaves."""
        return _payload(await self._receive_data(), "text", "receive_bytes")

    async def receive_bytes(self) -> bytes:
        """The next binary message; :class:`WebSocketDisconnect` when the client leaves."""
        return _payload(await self._receive_data(), "bytes", "receive_text")

    async def receive_json(self) -> Any:
        """The next message (text or binary) decoded as JSON."""
        message = await self._receive_data()
        data = message.get("text")
        return json.loads(data if data is not None else message["bytes"])

    async def _receive_data(self) -> dict:
        message = await self.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        return message

    async def iter_text(self) -> AsyncIterator[str]:
        """Each text message, until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Each binary message, until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self) -> AsyncIterator[Any]:
        """Each message decoded as JSON, until the client disconnects."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            return

    # -- sending ---------------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        await self._send_message({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self._send_message({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any) -> None:
        """``data`` as a JSON text message (Django's encoder: dates, decimals, UUIDs work)."""
        await self.send_text(_to_json(data))

    async def send_raw(self, message: dict) -> None:
        """An ASGI message sent as it is, unchecked (``djng.asgi`` refuses handshakes so)."""
        await self._send(message)

    async def _send_message(self, message: dict) -> None:
        state = self.application_state
        if state is WebSocketState.DISCONNECTED:
            raise RuntimeError(f"{self!r} is closed: nothing can be sent on it")
        if state is WebSocketState.CONNECTING and message["type"] != "websocket.accept":
            raise RuntimeError("await ws.accept() before sending on the websocket")
        if self.client_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(1006)
        try:
            await self._send(message)
        except OSError:  # uvicorn's ClientDisconnected
            self.client_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006) from None


def _payload(message: dict, key: str, other: str) -> Any:
    data = message.get(key)
    if data is None:
        kind = "binary" if key == "text" else "text"
        raise TypeError(f"the client sent a {kind} message: read it with ws.{other}()")
    return data


def _needs(request: HttpRequest | None, name: str, layer: str) -> Any:
    try:
        return getattr(request, name)
    except AttributeError:
        raise AttributeError(f"ws.{name} needs {layer} around the websocket route") from None


# -- the route's view --------------------------------------------------------------------------


class WebSocketEndpoint:
    """The view of a :func:`djng.websocket` route: it runs the handler for a
    websocket request and answers anything else 426 Upgrade Required."""

    def __init__(self, handler: Handler, source: str) -> None:
        # An async function, or a layer made to wrap one (djng.login_required(handler)):
        # that layer gets the websocket where a view gets the request.
        run = async_of(handler)
        if run is not None and run is not handler and not getattr(
                handler, WRAPS_WEBSOCKETS, False):
            raise TypeError(
                f"{source}: the handler is wrapped in a layer for requests (djng.middleware, "
                "djng.reconfigure, ...), which cannot wrap a websocket handler: put that "
                "layer around the Router that holds the route (of the layers, only "
                "djng.login_required wraps a handler)"
            )
        if run is None:
            raise TypeError(
                f"{source}: the handler must be an async function taking the websocket "
                f"and the path's arguments (async def handler(ws, ...)), got {handler!r}"
            )
        self.run = run
        self.source = source

    async def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ws = request.META.get(CONNECTION)
        if ws is None:
            return _upgrade_required(request)
        ws.request, ws.path_params, ws.handled = request, kwargs, True
        if "session" in request.__dict__ or "user" in request.__dict__:
            await in_worker(_load_lazy)(request)  # ws.user works on the loop afterwards
        try:
            answer = await self.run(ws, *args, **kwargs)
        except WebSocketDisconnect:
            pass  # the client left: the end of the connection, not an error
        else:
            if isinstance(answer, HttpResponseBase) and (
                    ws.application_state is WebSocketState.CONNECTING):
                ws.handled = False  # a layer's refusal (a login redirect): the handshake's answer
                return answer
        return HttpResponse(status=204)  # never sent: djng.asgi closes the connection

    def __repr__(self) -> str:
        return self.source


def http_request(request: Any) -> HttpRequest:
    """The HTTP request of a view's first argument: a websocket handler's (which a
    layer around it gets) is its handshake's."""
    return request.request if isinstance(request, WebSocket) else request


def _load_lazy(request: HttpRequest) -> None:
    """Load the session and the user now, on a worker thread (their lazy loading
    queries the database, which the loop must not)."""
    session = request.__dict__.get("session")
    if session is not None:
        session.keys()
    user = request.__dict__.get("user")
    if user is not None:
        user.is_authenticated  # noqa: B018 - evaluates the lazy user


def _upgrade_required(request: HttpRequest) -> HttpResponse:
    response = error_response(
        request, 426,
        f"{request.path} is a websocket route: open it with a websocket client (ws://) on "
        "the app served by djng.asgi (application = djng.asgi(app), then uvicorn "
        "app:application). Plain HTTP requests, and WSGI servers, cannot open it.",
    )
    response["Upgrade"] = "websocket"
    response["Connection"] = "Upgrade"
    return response


def not_a_websocket_route(request: HttpRequest, view: Any) -> None:
    """Raise ``Http404`` for a websocket request that reached an HTTP endpoint
    (``djng.handler`` calls it: HTTP views never take websocket connections)."""
    if not isinstance(view, WebSocketEndpoint):
        raise Http404(f"No websocket route matches {request.path}")


# -- the handshake's checks ---------------------------------------------------------------------


def check_origin(request: HttpRequest) -> None:
    """Refuse (``PermissionDenied``, a 403) a handshake whose ``Origin`` names a host the
    app does not answer: a page on another site must not open a connection that
    carries this site's cookies. No ``Origin`` (a client that is not a browser) passes."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return
    from django.http.request import split_domain_port, validate_host

    domain, _ = split_domain_port(urlsplit(origin).netloc)
    if not domain or not validate_host(domain, allowed()):
        raise PermissionDenied(
            f"The websocket's Origin {origin!r} is not a host this app answers, so a page "
            "there cannot open it. If that page is yours, add its host to djng.hosts "
            "(DJNG_ALLOWED_HOSTS)."
        )


# -- the connection's worker ------------------------------------------------------------------


class ConnectionWorker(RequestWorker):
    """A websocket connection's executor: a thread of the pool for each of its sync
    calls, given back once none runs, so that an idle connection (most of its
    life) holds no thread and many connections do not exhaust the pool."""

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        self._running = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:  # the thread is not given back between reading it and using it
            self._running += 1
            try:
                future = super().submit(fn, *args, **kwargs)
            except BaseException:
                self._running -= 1
                raise
        future.add_done_callback(self._call_done)
        return future

    def _call_done(self, _: Future) -> None:
        with self._lock:
            self._running -= 1
            if self._running or self._thread is None:
                return
            thread, self._thread = self._thread, None
        self._pool._give_back(thread)  # noqa: SLF001 - the pool's own method
