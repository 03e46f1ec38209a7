"""The ASGI adapter: ``asgi(app)`` serves any djng app under uvicorn (or any ASGI server).

It is a second outer adapter over the same inner half as ``djng.wsgi``: the
request is Django's (djng's ``Request``, built from an environ made from the
scope), it is started by the WSGI adapter's ``begin()`` (the lifecycle,
``request_started``, the Host check), and answered by the same view path.

One request, start to end:

1. the body is read from ``receive`` (into a spooled file, memory then disk;
   one over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is not read, and Django refuses it
   with a 413 if the view reads it);
2. the request runs in a copy of the context (started afresh by ``begin()``:
   ``djng.state.start_request``), and with a worker of
   its own (``djng.workers``): it takes a thread from the adapter's bounded pool
   at its first sync call and keeps it to its end;
3. an app with async views inside is answered on the loop (``djng.handler``'s
   async path: a sync endpoint hops once to the worker thread); an app that is
   sync all the way is answered on the worker thread in one hop;
4. the response is sent: a plain body at once, an async stream on the loop (in
   a task of its own), a sync stream chunk by chunk from the worker thread; then
   the response is closed (``request_finished``) in the request's context, on
   its worker thread;
5. a client that disconnects cancels the request: an async view or stream
   stops where it waits, and the response (or, without one, the request) is
   still closed, with ``request_finished``.

A websocket connection is served as a request (``djng.websocket``): its
handshake becomes a ``GET`` that goes through the app's layers to the websocket
route, whose handler runs there for the whole connection; the connection is
then closed by the response that came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import Awaitable, Callable, Iterable
from contextvars import copy_context
from tempfile import SpooledTemporaryFile
from typing import Any

from django.http import Http404, HttpRequest, HttpResponseBase

from . import _django, housekeeping, location, watchdog, workers
from .handler import acall_endpoint, acaller, arespond
from .layers import Dispatcher, async_of, router_of
from .services import debug
from .services.errors import report
from .services.hosts import warn_if_unconfigured
from .websocket import CONNECTION, ConnectionWorker, WebSocket, WebSocketState, check_origin
from .workers import WorkerPool, in_worker
from .wsgi import WSGIHandler, headers_of

__all__ = ["ASGIHandler", "asgi"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

_EMPTY = b""

#: The request's scheme for a websocket's (a ``wss://`` handshake is a secure request).
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}

#: In a test's environ (``djng.testing.AsyncClient``): a list the adapter fills with
#: the request and the app's response, as the WSGI test client reads them.
TEST_EXCHANGE = "djng.testing.exchange"


class ASGIHandler:
    """An ASGI application for a djng app (any ``request -> response`` callable).

    ``threads`` is the number of worker threads for sync work (sync views, the
    ORM, reports): it bounds concurrent sync work and database connections
    (default: ``DJNG_THREADS``, else ``min(32, CPUs + 4)``). ``trusted_proxy_headers``
    is as for ``djng.wsgi``.
    """

    def __init__(
        self,
        app: Callable,
        *,
        threads: int | None = None,
        trusted_proxy_headers: str | Iterable[str] | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError(f"djng.asgi() needs a view (request -> response), got {app!r}")
        #: The inner half shared with WSGI: request start, the sync view path, lifespan.
        self.wsgi = WSGIHandler(app, trusted_proxy_headers=trusted_proxy_headers)
        self.app = app
        self.lifespan = self.wsgi.lifespan
        self.pool = WorkerPool(threads, on_take=housekeeping.worker_taken)
        self._startup_lock: asyncio.Lock | None = None
        #: Whether the start-up is done and the loop watched (an app without hooks
        #: has nothing to start, but its loop is watched all the same).
        self._started = False
        router = router_of(app)
        if async_of(app) is None:
            self._acall = None  # sync all the way: one hop for the whole request
        elif router is None:
            self._acall = lambda request, args, kwargs: acall_endpoint(request, app)
        elif app is router and type(app).__call__ is Dispatcher.__call__:
            adispatch = app.adispatch  # the urlconf is set before each call
            self._acall = lambda request, args, kwargs: adispatch(request)
        else:
            self._acall = acaller(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            raise ValueError(f"djng.asgi() cannot serve an ASGI {kind!r} connection")

    # -- http ------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._started:
            await self._start_once()
        environ = await _environ(scope, receive)
        if environ is None:
            return  # the client left before its body arrived
        flight = _Flight(asyncio.current_task(), copy_context())
        # Watch for a disconnect only once the request waits for something: a request
        # answered in one step (most) never needs the watcher task.
        watch = asyncio.get_running_loop().call_soon(flight.watch, receive)
        try:
            # In the server's task, each step in the request's own context.
            await _InContext(flight.context, self._respond(environ, send, flight))
        except asyncio.CancelledError:
            # The client left: nothing to send, nothing to raise (unless someone else
            # cancelled the request too: a server shutting down).
            if not flight.disconnected or flight.task.uncancel():
                raise
        finally:
            watch.cancel()
            flight.stop_watching()

    async def _respond(self, environ: dict, send: Send, flight: _Flight) -> None:
        """The request, with a worker of its own, in its own context."""
        worker = self.pool.request_worker()
        binding = workers.bind(worker)
        try:
            if self._acall is None:
                await workers.run_in(
                    worker, flight.context, self._get_response_here, environ, flight
                )
            else:
                await self._aget_response(environ, flight)
            exchange = environ.get(TEST_EXCHANGE)
            if exchange is not None:
                exchange[:] = flight.request, flight.response
            await _send_response(environ, flight, worker, send)
            flight.sent = True
        finally:
            await self._end(flight, worker, binding)

    def _get_response_here(self, environ: dict, flight: _Flight) -> None:
        """The whole request of a sync app, on the worker thread. What it made is kept
        in ``flight`` at once, so that a request cancelled meanwhile is still closed."""
        flight.request, flight.response = self.wsgi.get_response(environ)
        flight.connected = housekeeping.thread_connected()

    async def _aget_response(self, environ: dict, flight: _Flight) -> None:
        flight.request, response = self.wsgi.begin(environ)
        if response is None:
            response = await arespond(flight.request, self._acall)
        _django.add_closer(response, flight.request.close)
        flight.response = response

    async def _end(self, flight: _Flight, worker: Any, binding: Any) -> None:
        """The end of a request or a connection: closed, then its worker given back."""
        try:
            await self._close(flight, worker)
        finally:
            workers.unbind(binding)
            worker.release()

    async def _close(self, flight: _Flight, worker: Any) -> None:
        """Close the response in the request's context: on its worker thread when that
        thread has database connections, or when ``request_finished`` has other work.
        A request cancelled before its response (the client left) is closed too."""
        if flight.response is not None:
            close, subject = housekeeping.close_response, flight.response
        elif flight.request is not None:
            close, subject = housekeeping.close_unanswered, flight.request
        else:
            return
        if (worker.taken and flight.connected) or housekeeping.finished_has_work():
            # In the request's context itself: a stream's generator ends (its finally
            # runs) in the context it ran in; and to its end, whatever cancels meanwhile.
            await workers.run_in(worker, flight.context, close, subject, finish=True)
        else:
            close(subject)

    # -- websocket -------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket connection, served as a request (``djng.websocket``): the
        handshake's ``GET`` goes through the app's layers to its route, whose
        handler runs there; in a context of its own, like a request."""
        if not self._started:
            await self._start_once()
        if (await receive())["type"] != "websocket.connect":
            return  # the client left before its handshake arrived
        connection = WebSocket(scope, receive, send)
        environ = environ_from_scope(
            {**scope, "method": "GET", "scheme": _HTTP_SCHEMES.get(scope.get("scheme"), "http")}
        )
        environ["wsgi.input"] = io.BytesIO()
        environ[CONNECTION] = connection
        flight = _Flight(asyncio.current_task(), copy_context())
        try:
            await _InContext(flight.context, self._serve_websocket(environ, connection, flight))
        except asyncio.CancelledError:
            # The client left: the handler has ended, nothing to send (unless someone
            # else cancelled the connection too).
            if not connection.left_while_busy or flight.task.uncancel():
                raise
        finally:
            connection.stop_reading()

    async def _serve_websocket(
        self, environ: dict, connection: WebSocket, flight: _Flight
    ) -> None:
        worker = ConnectionWorker(self.pool)  # a thread only while a sync call runs
        binding = workers.bind(worker)
        try:
            flight.request, response = self.wsgi.begin(environ)  # the Host is checked there
            if response is None:
                response = await arespond(flight.request, self._acall_websocket)
            flight.response = response
            await _finish_websocket(connection, response)
        finally:
            await self._end(flight, worker, binding)

    async def _acall_websocket(
        self, request: HttpRequest, args: tuple, kwargs: dict
    ) -> HttpResponseBase:
        check_origin(request)
        if self._acall is None:
            # Sync all the way (a websocket route makes its Routers async): no websocket
            # route, or one hidden behind a sync wrapper, which cannot run it on the loop.
            raise Http404(f"No websocket route matches {request.path}")
        return await self._acall(request, args, kwargs)

    # -- lifespan --------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "lifespan.startup":
                try:
                    await self.lifespan.astart()
                except BaseException as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    raise
                watchdog.watch(asyncio.get_running_loop())
                self._started = True
                await send({"type": "lifespan.startup.complete"})
            elif kind == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except BaseException as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    raise
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start_once(self) -> None:
        """Start-up for a server that sends no lifespan events, before the first request:
        the hooks (unless already started) and the watch of the loop."""
        if self._startup_lock is None:
            self._startup_lock = asyncio.Lock()
        async with self._startup_lock:
            if not self.lifespan.started:
                await self.lifespan.astart()
            if not self._started:
                watchdog.watch(asyncio.get_running_loop())
                self._started = True

    async def shutdown(self) -> None:
        """Run the app's shutdown hooks, then close the worker threads' database
        connections and stop the threads."""
        try:
            await self.lifespan.astop()
        finally:
            await asyncio.get_running_loop().run_in_executor(
                None, self.pool.close, housekeeping.close_connections
            )


# -- the request ----------------------------------------------------------------------------


async def _environ(scope: Scope, receive: Receive) -> dict | None:
    """A WSGI environ for the request (what djng's ``Request`` is built from), its
    body read; None if the client disconnected before the body arrived."""
    environ = environ_from_scope(scope)
    declared = environ.get("CONTENT_LENGTH")
    limit = _django.setting("DATA_UPLOAD_MAX_MEMORY_SIZE")
    if environ.get("CONTENT_TYPE", "").startswith("multipart/"):
        limit = None  # Django streams uploaded files to disk; the body is read whole
    if declared and limit is not None and declared.isdigit() and int(declared) > limit:
        # Not read: the view that reads it gets Django's RequestDataTooBig (413).
        environ["wsgi.input"] = io.BytesIO()
        return environ
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body = message.get("body", _EMPTY)
    if not message.get("more_body"):  # the whole body in one message, as most are
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body)) if body or declared else ""
        return environ
    spooled = SpooledTemporaryFile(max_size=_django.setting("FILE_UPLOAD_MAX_MEMORY_SIZE"))
    size = 0
    while True:
        size += len(body)
        if limit is not None and size > limit:
            spooled.close()
            environ["wsgi.input"] = io.BytesIO()
            environ["CONTENT_LENGTH"] = str(size)  # over the limit: Django refuses it
            return environ
        spooled.write(body)
        if not message.get("more_body"):
            break
        message = await receive()
        if message["type"] == "http.disconnect":
            spooled.close()
            return None
        body = message.get("body", _EMPTY)
    spooled.seek(0)
    environ["wsgi.input"] = spooled
    environ["CONTENT_LENGTH"] = str(size)
    return environ


def environ_from_scope(scope: Scope) -> dict:
    """The WSGI environ of an ASGI HTTP scope (without ``wsgi.input``).

    Header names with an underscore are dropped, as gunicorn does: in the
    environ ``X_Forwarded_For`` would pass for ``X-Forwarded-For``.
    """
    root_path = scope.get("root_path", "")
    path = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _to_wsgi(root_path),
        "PATH_INFO": _to_wsgi(path),
        "QUERY_STRING": scope.get("query_string", _EMPTY).decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    keys = _HEADER_KEYS
    for raw_name, raw_value in scope.get("headers", ()):
        key = keys.get(raw_name)
        if key is None:
            key = _header_key(raw_name)
        if not key:
            continue
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    extra = scope.get("djng.environ")  # a test client's own keys
    if extra:
        environ.update(extra)
    return environ


#: The environ key of each header name seen (bounded); "" for a name that is dropped.
_HEADER_KEYS: dict[bytes, str] = {}


def _header_key(raw_name: bytes) -> str:
    name = raw_name.decode("latin-1").lower()
    if name == "content-length":
        key = "CONTENT_LENGTH"
    elif name == "content-type":
        key = "CONTENT_TYPE"
    elif "_" in name:
        key = ""  # X_Forwarded_For must not pass for X-Forwarded-For
    else:
        key = "HTTP_" + name.upper().replace("-", "_")
    if len(_HEADER_KEYS) < 1024:
        _HEADER_KEYS[raw_name] = key
    return key


def scope_from_environ(environ: dict) -> Scope:
    """The ASGI HTTP scope of a WSGI environ (the test client builds environs)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key.replace("_", "-").lower()
        else:
            continue
        headers.append((name.encode("latin-1"), value.encode("latin-1")))
    root_path = environ.get("SCRIPT_NAME", "").encode("latin-1").decode("utf-8", "replace")
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "root_path": root_path,
        "path": root_path + path,
        "raw_path": (root_path + path).encode("utf-8"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), 50000),
        "server": (environ.get("SERVER_NAME", "testserver"), int(environ.get("SERVER_PORT") or 80)),
    }


def _to_wsgi(path: str) -> str:
    return path if path.isascii() else path.encode("utf-8").decode("latin-1")


# -- the websocket's end -----------------------------------------------------------------------


async def _finish_websocket(connection: WebSocket, response: HttpResponseBase) -> None:
    """End a websocket by what the app answered: accepted, it is closed (1011 after
    a server error, else 1000); never accepted, the handshake is refused, with the
    app's response when the server can send one (else a close: a 403)."""
    state = connection.application_state
    if state is WebSocketState.CONNECTED:
        await connection.close(1011 if response.status_code >= 500 else 1000)
    elif state is WebSocketState.CONNECTING:
        extensions = connection.scope.get("extensions") or {}
        if connection.handled or "websocket.http.response" not in extensions:
            await connection.close(1008)  # refused by the handler, or no way to say more
            return
        connection.application_state = WebSocketState.DISCONNECTED
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers_of(response)
        ]
        await connection.send_raw({
            "type": "websocket.http.response.start", "status": response.status_code,
            "headers": headers,
        })
        body = _EMPTY if response.streaming else response.content
        await connection.send_raw({"type": "websocket.http.response.body", "body": body})


# -- the response ---------------------------------------------------------------------------


async def _send_response(environ: dict, flight: _Flight, worker: Any, send: Send) -> None:
    """Send the response; a stream's chunks are made in the request's own context (one
    context for the whole iteration, as a generator that sets a context variable
    across its yields expects)."""
    request, response = flight.request, flight.response
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers_of(response)
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    if environ["REQUEST_METHOD"] == "HEAD":
        await send({"type": "http.response.body", "body": _EMPTY})
        return
    if not response.streaming:
        await send({"type": "http.response.body", "body": response.content})
        return
    try:
        if response.is_async:
            # In a task of its own: each chunk then wakes the stream's few frames, not
            # the whole stack of server, handler and request above it (a fifth less CPU
            # per event: python -m bench --push). The request waits meanwhile, so the
            # two never run in its context at once.
            streaming = asyncio.get_running_loop().create_task(
                _send_chunks(response, send), context=flight.context)
            try:
                await asyncio.shield(streaming)
            except asyncio.CancelledError:  # the client left: the stream ends first
                await _end_task(streaming)
                raise
        else:
            chunks = iter(response.streaming_content)
            while (chunk := await workers.run_in(worker, flight.context, _next_chunk,
                                                 chunks)) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except Exception as exc:
        # The status line is sent: report, then let the server cut the body short.
        await in_worker(report)(request, exc)
        raise
    await send({"type": "http.response.body", "body": _EMPTY})


async def _send_chunks(response: Any, send: Send) -> None:
    """Send an async stream, then close it here, in the request's context: a stream
    left in the middle (the client left while a chunk was being sent) would else be
    closed by the garbage collector, in another context, after the request ended."""
    chunks = response.streaming_content
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await chunks.aclose()
        close = getattr(_django.stream_source(response), "aclose", None)
        if close is not None:
            await close()


async def _end_task(task: asyncio.Task) -> None:
    """Cancel ``task`` and wait for its end, even through cancellations of our own
    meanwhile (a server's shutdown after the client left): never leave it behind."""
    task.cancel()
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # it failed meanwhile: nobody is left to tell


def _next_chunk(chunks: Any) -> bytes | None:
    return next(chunks, None)


class _Flight:
    """One request on its way: what it has made so far, and its disconnect watch."""

    __slots__ = (
        "task", "context", "request", "response", "connected", "sent", "disconnected", "_watcher",
    )

    def __init__(self, task: asyncio.Task, context: Any) -> None:
        self.task = task
        #: The request's own context, in which each of its steps runs.
        self.context = context
        self.request: HttpRequest | None = None
        self.response: HttpResponseBase | None = None
        #: Whether the worker thread holds database connections (unknown: assume so).
        self.connected = True
        self.sent = False
        self.disconnected = False
        self._watcher: asyncio.Task | None = None

    def watch(self, receive: Receive) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._cancel_on_disconnect(receive))

    async def _cancel_on_disconnect(self, receive: Receive) -> None:
        """Cancel the request when the client disconnects before the whole response is
        sent (the body is read already, so the next message is the disconnect; a
        caller that sends something else does not report one)."""
        message = await receive()
        if message["type"] == "http.disconnect" and not self.sent:
            self.disconnected = True
            self.task.cancel()

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


class _InContext:
    """Await a coroutine with each of its steps run in ``context``, in the current task.

    What a task of its own (``create_task(coro, context=...)``) gives, without the
    task and the turn of the event loop it costs (about a third of a hello
    request). The awaitables the coroutine yields pass through to the task, and a
    cancellation of the task goes into the coroutine, as with ``await``.
    """

    __slots__ = ("_context", "_coroutine")

    def __init__(self, context: Any, coroutine: Any) -> None:
        self._context = context
        self._coroutine = coroutine

    def __await__(self) -> Any:
        run, coroutine = self._context.run, self._coroutine
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                if error is None:
                    awaited = run(coroutine.send, value)
                else:
                    awaited = run(coroutine.throw, error)
            except StopIteration as done:
                return done.value
            try:
                value, error = (yield awaited), None
            except GeneratorExit:
                run(coroutine.close)  # its finally blocks, in its own context
                raise
            except BaseException as exc:  # a cancellation, thrown in by the task
                value, error = None, exc


def asgi(
    app: Callable,
    *,
    threads: int | None = None,
    trusted_proxy_headers: str | Iterable[str] | None = None,
) -> ASGIHandler:
    """A standard ASGI application for ``app``: ``application = djng.asgi(app)``,
    then ``uvicorn app:application``.

    Async views run on the event loop; sync views, and all sync work of a
    request, on one of ``threads`` long-lived worker threads (``djng.workers``).
    ``trusted_proxy_headers`` is as for :func:`djng.wsgi`. The app's folder and
    the production checks are as for :func:`djng.wsgi`.
    """
    if isinstance(app, ASGIHandler) and threads is None and trusted_proxy_headers is None:
        return app
    location.remember(app)
    from .startup import defined_by_script

    handler = ASGIHandler(app, threads=threads, trusted_proxy_headers=trusted_proxy_headers)
    if not debug.default() and not defined_by_script(app):
        warn_if_unconfigured()
    return handler
