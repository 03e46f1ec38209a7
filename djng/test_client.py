"""In-process test clients that drive the same callable a server does (``djng.testing``).

Like werkzeug's test client, it calls the app's WSGI callable
(``djng.wsgi(app)``) with a built environ and reads what it sends, so a test
sees exactly the bytes a server would send. The app runs in a copy of the
caller's context, so ``with djng.cache.use(...)`` around a request reaches the
app, and nothing the app pushes leaks back. :class:`AsyncClient` does the same
through the app's ASGI callable (``djng.asgi(app)``).
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Generator, Iterable, Mapping
from http.client import responses as _REASONS
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from django.http import HttpResponse

from .from_wsgi import set_wsgi_headers
from .services.errors import RAISED_IN_TEST
from .wsgi import WSGIHandler

__all__ = ["AsyncClient", "Client", "TestResponse", "WebSocketRefused", "WebSocketTestSession"]

#: True once a test client was made in this process.
in_use = False


class Client:
    """Send requests to ``app`` in-process; cookies are kept between requests.

    Each method returns a :class:`TestResponse` of what the app sent, with
    ``.status_code``, ``.headers``, ``.content``, ``.text``, ``.json()``,
    ``.cookies`` and ``.wsgi_request``. An exception in the app is raised again
    here (and not also reported to ``djng.errors``), unless ``raise_exceptions=False``
    (then it is reported, and the 500 response is returned).
    """

    def __init__(
        self,
        app: Callable,
        *,
        raise_exceptions: bool = True,
        headers: Mapping[str, str] | None = None,
        base_url: str = "http://testserver",
        remote_addr: str = "127.0.0.1",
    ) -> None:
        global in_use
        in_use = True  # djng.secrets: a test client means development (a generated key)
        self.handler = self._handler(app)
        self.raise_exceptions = raise_exceptions
        self.headers = dict(headers or {})
        self.base_url = base_url
        #: The client's address (``REMOTE_ADDR``), as Django's test client sends it.
        self.remote_addr = remote_addr
        self.cookies: SimpleCookie = SimpleCookie()

    def _handler(self, app: Callable) -> Any:
        return app if isinstance(app, WSGIHandler) else WSGIHandler(app)

    def __enter__(self) -> Client:
        """``with Client(app) as client:`` runs the app's start-up hooks now and its
        shutdown hooks at the end (``djng.lifespan``); without it, start-up runs at
        the first request and shutdown when the process exits."""
        self.handler.lifespan.start_once()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.handler.lifespan.stop()

    # -- verbs -------------------------------------------------------------------

    def get(self, path: str, query: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, query=query, **kwargs)

    def head(self, path: str, query: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", path, query=query, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, data=data, **kwargs)

    def patch(self, path: str, data: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, data=data, **kwargs)

    def delete(self, path: str, data: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, data=data, **kwargs)

    # -- the request ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Any = None,
        data: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        follow: bool = False,
    ) -> TestResponse:
        """Send one request. ``data`` is form data (a dict, files allowed) or raw bytes/str;
        ``json`` is sent as a JSON body; ``query`` becomes the query string."""
        return self._drive(
            _exchanges(method, path, query, data, json, headers, content_type, follow)
        )

    def _drive(self, steps: Generator[tuple, TestResponse, TestResponse]) -> TestResponse:
        """Send each request ``steps`` asks for; its last response."""
        sending = next(steps)
        try:
            while True:
                sending = steps.send(self._send(*sending))
        except StopIteration as done:
            return done.value

    def _send(self, *request: Any) -> TestResponse:
        """One request: ``(method, path, query, data, json, headers, content_type)``."""
        environ, raised = self._environ(*request)
        started: list = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return lambda data: None

        # The handler runs the request in a copy of this context, as a server would.
        body = self.handler(environ, start_response)
        try:
            content = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        status, headers = started
        exchange = (getattr(body, "request", None), getattr(body, "response", None))
        return self._received(environ, raised, status, headers, content, exchange)

    def _environ(
        self,
        method: str,
        path: str,
        query: Any,
        data: Any,
        json: Any,
        headers: Mapping[str, str] | None,
        content_type: str | None,
    ) -> tuple[dict, list[BaseException]]:
        """The WSGI environ of a request, and the list its exceptions are raised from."""
        from werkzeug.test import EnvironBuilder

        url = urlsplit(path)
        all_headers = {**self.headers, **(headers or {})}
        if self.cookies and not any(name.lower() == "cookie" for name in all_headers):
            all_headers["Cookie"] = "; ".join(
                f"{name}={morsel.coded_value}" for name, morsel in self.cookies.items()
            )
        if method in ("GET", "HEAD") and isinstance(data, Mapping) and query is None:
            query, data = data, None
        if query is not None and url.query:
            # Keep both: the path's own query string first, then query=.
            query = url.query + "&" + (query if isinstance(query, str) else urlencode(query, True))
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}" if url.netloc else self.base_url,
            query_string=query if query is not None else (url.query or None),
            method=method,
            headers=all_headers,
            data=data,
            json=json,
            content_type=content_type,
            environ_base={"REMOTE_ADDR": self.remote_addr},
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        # Exceptions to raise here (so not also logged by djng.errors): the list is
        # shared with the apps a request reaches through from_wsgi(djng.wsgi(...)).
        raised: list[BaseException] = []
        if self.raise_exceptions:
            environ[RAISED_IN_TEST] = raised
        return environ, raised

    def _received(
        self,
        environ: dict,
        raised: list[BaseException],
        status: str,
        headers: list[tuple[str, str]],
        content: bytes,
        exchange: tuple[Any, Any],
    ) -> TestResponse:
        """The response to a request: cookies kept, an exception in the app raised."""
        response = TestResponse(content, status, headers)
        response.wsgi_request, response.app_response = exchange
        response.request = environ
        self._store_cookies(response)
        if raised:
            raise raised[0]
        return response

    def _store_cookies(self, response: TestResponse) -> None:
        for name, morsel in response.cookies.items():
            if morsel["max-age"] in (0, "0") or _expired(morsel["expires"]):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


class AsyncClient(Client):
    """:class:`Client`'s API, awaited, driving ``djng.asgi(app)`` as an ASGI server does.

    ``await client.get('/')`` takes the same arguments and returns the same
    :class:`TestResponse`. ``threads`` is the adapter's number of worker threads.
    ``async with AsyncClient(app) as client:`` runs the app's lifespan (start-up
    hooks, and at the end shutdown hooks and the worker threads' connections
    closed); without it, start-up runs at the first request.
    """

    def __init__(self, app: Callable, *, threads: int | None = None, **options: Any) -> None:
        self._threads = threads
        super().__init__(app, **options)

    def _handler(self, app: Callable) -> Any:
        from .asgi import ASGIHandler

        if isinstance(app, ASGIHandler):
            return app
        return ASGIHandler(app, threads=self._threads)

    def __enter__(self) -> Client:
        raise TypeError("use `async with AsyncClient(app)` (or djng.testing.Client for `with`)")

    async def __aenter__(self) -> AsyncClient:
        await self.handler.lifespan.astart()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.handler.shutdown()

    async def _drive(  # type: ignore[override] - the same requests, awaited
        self, steps: Generator[tuple, TestResponse, TestResponse]
    ) -> TestResponse:
        sending = next(steps)
        try:
            while True:
                sending = steps.send(await self._send(*sending))
        except StopIteration as done:
            return done.value

    async def _send(self, *request: Any) -> TestResponse:  # type: ignore[override]
        import asyncio

        from .asgi import TEST_EXCHANGE, scope_from_environ

        environ, raised = self._environ(*request)
        body = environ["wsgi.input"].read()
        scope = scope_from_environ(environ)
        exchange: list = [None, None]
        scope["djng.environ"] = {
            name: environ[name] for name in (RAISED_IN_TEST,) if name in environ
        } | {TEST_EXCHANGE: exchange}
        messages: list[dict] = []
        finished = asyncio.Event()
        body_sent = False

        async def receive() -> dict:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # as a server: the client leaves after the response
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            messages.append(message)

        try:
            await self.handler(scope, receive, send)
        finally:
            finished.set()
        start = messages[0]
        content = b"".join(message.get("body", b"") for message in messages[1:])
        return self._received(environ, raised, _status_line(start["status"]),
                              _headers(start["headers"]), content, tuple(exchange))


    def websocket_connect(
        self,
        path: str,
        *,
        subprotocols: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a websocket to ``path`` in-process, through ``djng.asgi(app)``:
        ``async with client.websocket_connect('/ws/x') as ws:``. It sends the client's
        headers and cookies (a login over HTTP with this client carries over). A
        refused handshake raises :class:`WebSocketRefused`."""
        return WebSocketTestSession(self, path, subprotocols or [], headers or {})


class WebSocketRefused(Exception):  # noqa: N818 - it is what happened, not an error name
    """The app refused the websocket handshake: ``response`` is its HTTP answer."""

    def __init__(self, response: TestResponse) -> None:
        super().__init__(f"the websocket handshake was refused: {response.status_code}")
        self.response = response
        self.status_code = response.status_code


class WebSocketTestSession:
    """One websocket connection of :meth:`AsyncClient.websocket_connect`, driven as a
    server drives ``djng.asgi(app)``: ``send_text``/``send_bytes``/``send_json``,
    ``receive_text``/``receive_bytes``/``receive_json`` (``WebSocketDisconnect``
    once the app closed), ``close(code)``. ``close_code`` is the app's close code."""

    def __init__(
        self, client: AsyncClient, path: str, subprotocols: list[str], headers: Mapping[str, str]
    ) -> None:
        self._client = client
        self._request = (path, subprotocols, headers)
        self.accepted_subprotocol: str | None = None
        self.accepted_headers: list[tuple[str, str]] = []
        self.close_code: int | None = None
        self._raised: list[BaseException] = []

    async def __aenter__(self) -> WebSocketTestSession:
        import asyncio

        from .asgi import scope_from_environ

        path, subprotocols, headers = self._request
        environ, self._raised = self._client._environ(  # noqa: SLF001 - its own client
            "GET", path, None, None, None, headers, None
        )
        scope = scope_from_environ(environ)
        del scope["method"]
        scope.update(
            type="websocket",
            scheme="wss" if scope["scheme"] == "https" else "ws",
            subprotocols=subprotocols,
            extensions={"websocket.http.response": {}},
        )
        if RAISED_IN_TEST in environ:
            scope["djng.environ"] = {RAISED_IN_TEST: environ[RAISED_IN_TEST]}
        self._to_app: asyncio.Queue[dict] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict] = asyncio.Queue()
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._app = asyncio.ensure_future(
            self._client.handler(scope, self._to_app.get, self._from_app.put)
        )
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            self.accepted_headers = _headers(message.get("headers", ()))
            return self
        await self._app
        self._raise_from_app()
        if message["type"] == "websocket.close":  # refused without a response: a 403
            raise WebSocketRefused(TestResponse(b"", "403 Forbidden", []))
        body = (await self._next())["body"]
        raise WebSocketRefused(TestResponse(body, _status_line(message["status"]),
                                            _headers(message["headers"])))

    async def __aexit__(self, *exc_info: object) -> None:
        if not self._app.done():
            await self.close()
        await self._app
        self._raise_from_app()

    async def _next(self) -> dict:
        """The app's next message (its exception, if it failed without sending one)."""
        import asyncio

        waiting = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({waiting, self._app}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done():
            message = waiting.result()
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
                self._to_app.put_nowait({"type": "websocket.disconnect", "code": self.close_code})
            return message
        waiting.cancel()
        self._app.result()
        self._raise_from_app()
        raise RuntimeError("the app ended the connection without closing it")

    def _raise_from_app(self) -> None:
        if self._raised:
            raise self._raised.pop(0)

    # -- the client's side -----------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any) -> None:
        await self.send_text(jsonlib.dumps(data))

    async def receive(self) -> dict:
        """The app's next ASGI message (``websocket.send`` or ``websocket.close``)."""
        return await self._next()

    async def receive_text(self) -> str:
        return (await self._receive_data())["text"]

    async def receive_bytes(self) -> bytes:
        return (await self._receive_data())["bytes"]

    async def receive_json(self) -> Any:
        message = await self._receive_data()
        return jsonlib.loads(message.get("text") or message.get("bytes"))

    async def _receive_data(self) -> dict:
        from .websocket import WebSocketDisconnect

        message = await self._next()
        if message["type"] == "websocket.close":
            await self._app
            self._raise_from_app()
            raise WebSocketDisconnect(self.close_code or 1000, message.get("reason"))
        return message

    async def close(self, code: int = 1000) -> None:
        """Leave: the app's receive gets ``websocket.disconnect``; waits for it to end."""
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": code})
        await self._app


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown Status Code')}"


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI's header pairs as a WSGI response's."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def _exchanges(
    method: str,
    path: str,
    query: Any,
    data: Any,
    json: Any,
    headers: Mapping[str, str] | None,
    content_type: str | None,
    follow: bool,
) -> Generator[tuple, TestResponse, TestResponse]:
    """The requests of one ``client.request(...)`` (more than one when it follows
    redirects): yields each request's arguments, is sent its response, returns the last."""
    response = yield (method, path, query, data, json, headers, content_type)
    if not follow:
        return response
    response.redirect_chain = []
    while response.status_code in (301, 302, 303, 307, 308) and "Location" in response:
        if len(response.redirect_chain) >= 20:
            raise RuntimeError(f"More than 20 redirects, last to {response['Location']}")
        location = urljoin(path, response["Location"])
        chain = [*response.redirect_chain, (location, response.status_code)]
        keep = response.status_code in (307, 308)
        path = location
        response = yield (
            method if keep else ("HEAD" if method == "HEAD" else "GET"),
            location,
            None,
            data if keep else None,
            json if keep else None,
            headers,
            content_type if keep else None,
        )
        response.redirect_chain = chain
    return response


def _expired(expires: str) -> bool:
    if not expires:
        return False
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(expires)
    except (TypeError, ValueError):
        return False
    from datetime import UTC, datetime

    return when <= datetime.now(UTC)


class TestResponse(HttpResponse):
    """What the app sent to the test client: status, headers, cookies and the body's bytes.

    ``.content``, ``.text`` and ``.json()`` work for every response, streaming
    ones included (``.streaming_content`` iterates the same bytes);
    ``.wsgi_request`` is the request the app saw, and ``.app_response`` the
    response object the app returned (``.context_data``, ``.template_name``...,
    which are also read through this object).
    """

    def __init__(self, content: bytes, status: str, headers: list[tuple[str, str]]) -> None:
        code, _, reason = status.partition(" ")
        super().__init__(content, status=int(code), reason=reason or None)
        set_wsgi_headers(self, headers)

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.text, **kwargs)

    @property
    def streaming(self) -> bool:
        """Whether the app returned a streaming response."""
        return bool(getattr(self.__dict__.get("app_response"), "streaming", False))

    @property
    def streaming_content(self) -> Any:
        return iter([self.content])

    def __getattr__(self, name: str) -> Any:
        # Attributes of the app's own response (context_data, templates, ...).
        app_response = self.__dict__.get("app_response")
        if app_response is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(app_response, name)
