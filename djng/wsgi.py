"""The WSGI adapter: ``wsgi(app)`` turns any djng app into a WSGI callable.

One request, start to end:

1. a fresh copy of the context, so whatever the request pushes on a service
   stack is gone when it ends (``__call__``);
2. in it, the request's lifecycle: ``in_request``, the app's URL dispatcher as
   Django's urlconf, the script prefix, ``request_started``, the request object,
   and the answer through the view path (``djng.handler.respond``), which never
   raises (``get_response``);
3. the status line, the headers and every cookie go to the server, and the body
   is handed over: its chunks are iterated, and the response closed (with
   ``request_finished`` when a receiver has work), inside the request's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context, copy_context
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import set_script_prefix, set_urlconf

from . import _django, housekeeping, location, proxy, registry, startup
from .handler import call_endpoint, caller, respond
from .layers import Dispatcher, router_of
from .lifespan import Lifespan
from .propagation import arrived, current_request
from .services import debug
from .services.errors import report, response_for_exception
from .services.hosts import check_host, warn_if_unconfigured
from .state import start_request

__all__ = ["WSGIHandler", "wsgi"]

StartResponse = Callable[..., Any]

_PLAIN_ITER = HttpResponse.__iter__


class WSGIHandler:
    """A WSGI callable for a djng app (any ``request -> response`` callable).

    ``trusted_proxy_headers`` names the ``X-Forwarded-*`` headers a proxy in front
    sets and the app may believe (``djng.proxy``; default:
    ``DJNG_TRUSTED_PROXY_HEADERS``, else none).
    """

    def __init__(
        self, app: Callable, *, trusted_proxy_headers: str | Iterable[str] | None = None
    ) -> None:
        if not callable(app):
            raise TypeError(f"djng.wsgi() needs a view (request -> response), got {app!r}")
        self._fix_environ = proxy.environ_fixer(trusted_proxy_headers)
        startup.prepare(app)
        from .request import Request  # Django's WSGI module is imported when first served

        self.request_class = Request
        self.app = app
        #: The app's start-up and shutdown hooks (``djng.lifespan``), run once per process.
        self.lifespan = Lifespan(app)
        #: The app's URL dispatcher, the urlconf of its requests (None: the app is an endpoint).
        self.router = router_of(app)
        if self.router is None:
            self._call = lambda request, args, kwargs: call_endpoint(request, app)
        elif app is self.router and type(app).__call__ is Dispatcher.__call__:
            dispatch = app.dispatch  # the urlconf is set before each call
            self._call = lambda request, args, kwargs: dispatch(request)
        else:
            self._call = caller(app)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if not self.lifespan.started:
            self.lifespan.start_once()
        ctx = copy_context()
        request, response = ctx.run(self.get_response, environ)
        start_response(f"{response.status_code} {response.reason_phrase}", headers_of(response))
        if environ.get("REQUEST_METHOD") == "HEAD":
            return Body(ctx, request, response, iter(()))
        streaming = response.streaming
        if streaming and response.is_async:
            # Each chunk as it comes (Django's own iteration would gather them all).
            return Body(ctx, request, response, ctx.run(iterate_async, response))
        if not streaming and type(response).__iter__ is _PLAIN_ITER:
            # The chunks are bytes already; iterating them runs no code, so the
            # server iterates them directly and only close() needs the context.
            return PlainBody(ctx, request, response)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper is not None and getattr(response, "file_to_stream", None) is not None:
            # As Django does: the server streams the file and closing it closes the response.
            response.file_to_stream.close = lambda: ctx.run(housekeeping.close_response, response)
            return file_wrapper(response.file_to_stream, response.block_size)
        return Body(ctx, request, response, iter(response))

    def get_response(self, environ: dict) -> tuple[HttpRequest, HttpResponseBase]:
        """Build the request and answer it; call inside the request's own context."""
        request, response = self.begin(environ)
        if response is None:
            response = respond(request, self._call)
        _django.add_closer(response, request.close)
        return request, response

    def begin(self, environ: dict) -> tuple[HttpRequest, HttpResponseBase | None]:
        """Start the request in the current context: the lifecycle, ``request_started``
        and the request object; a response already if the request is refused (its
        Host) or its chunked body cannot be read. Shared with ``djng.asgi``."""
        if self._fix_environ is not None:
            self._fix_environ(environ)
        if not registry.serving:
            registry.serving = True  # djng.install() must come before this
        start_request()
        if self.router is not None:
            set_urlconf(self.router)
        script_name = environ.get("SCRIPT_NAME")
        if script_name:
            set_script_prefix(script_name.encode("iso-8859-1").decode("utf-8", "replace"))
        housekeeping.send_request_started(self.__class__, environ)
        request = self.request_class(environ)
        current_request.set(request)
        if "HTTP_X_REQUEST_TIMEOUT" in environ:
            arrived(request, environ)
        try:
            check_host(request)  # the app never sees a request for another host
            if "HTTP_TRANSFER_ENCODING" in environ and request.body_unsized:
                request.read_unsized_body()
        except Exception as exc:
            return request, response_for_exception(request, exc)
        return request, None


def headers_of(response: HttpResponseBase) -> list[tuple[str, str]]:
    """The header lines to send for ``response``: its headers, a ``Content-Length``
    for a body of known size, and every cookie (shared with ``djng.asgi``)."""
    store = _django.header_store(response)
    headers = [*store.values()]
    if not response.streaming and "content-length" not in store:
        # Sent, not stored on the response: the same header list, without
        # a second pass through the response's header validation.
        headers.append(("Content-Length", str(len(response.content))))
    cookies = response.cookies
    if cookies:
        headers += [("Set-Cookie", cookie.OutputString()) for cookie in cookies.values()]
    return headers


def iterate_async(response: HttpResponseBase) -> Iterator[bytes]:
    """A sync iterator over an async streaming body, a chunk at a time: the
    chunks run on an event loop of this response's own, closed at the end."""
    chunks = aiter(response.streaming_content)
    runner = asyncio.Runner()

    def steps() -> Iterator[bytes]:
        try:
            while True:
                try:
                    yield runner.run(_next(chunks))
                except StopAsyncIteration:
                    return
        finally:
            runner.close()  # closes the async generators begun on its loop

    return steps()


async def _next(chunks: Any) -> bytes:
    return await anext(chunks)


class PlainBody:
    """A non-streaming body: its chunks as they are, close() in the request's context.

    ``request`` and ``response`` are the Django objects it came from (the test
    client reads them).
    """

    __slots__ = ("_ctx", "request", "response")

    def __init__(self, ctx: Context, request: HttpRequest, response: HttpResponse) -> None:
        self._ctx = ctx
        self.request = request
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        self._ctx.run(housekeeping.close_response, self.response)


class Body(PlainBody):
    """The response body, each step and the final close() run in the request's context.

    An exception while the body is produced (a streaming response's generator
    failing) is reported to ``djng.errors`` before it ends the response: the
    status line is sent already, so the server can only cut the body short.
    """

    __slots__ = ("_chunks",)

    def __init__(
        self, ctx: Context, request: HttpRequest, response: HttpResponseBase, chunks: Iterator
    ) -> None:
        super().__init__(ctx, request, response)
        self._chunks = chunks

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        try:
            return self._ctx.run(next, self._chunks)
        except StopIteration:
            raise
        except Exception as exc:
            self._ctx.run(report, self.request, exc)
            raise


def wsgi(
    app: Callable, *, trusted_proxy_headers: str | Iterable[str] | None = None
) -> WSGIHandler:
    """A standard WSGI callable for ``app``: ``application = djng.wsgi(app)``.

    Behind a proxy, ``trusted_proxy_headers`` names the headers it sets that the
    app may believe, e.g. ``['X-Forwarded-Proto', 'X-Forwarded-For']`` (see
    ``djng.proxy``; default: ``DJNG_TRUSTED_PROXY_HEADERS``, else none).

    The folder of the module that defines ``app`` becomes the app's folder
    (``djng.location``) unless the process has one already, so the defaults
    next to the app work under any server. With debugging off this is a
    production start: if no allowed hosts are configured, it says so once (not
    for an app defined by the script being run: ``python app.py`` develops).
    """
    if isinstance(app, WSGIHandler) and trusted_proxy_headers is None:
        return app
    location.remember(app)
    handler = WSGIHandler(app, trusted_proxy_headers=trusted_proxy_headers)
    if not debug.default() and not startup.defined_by_script(app):
        warn_if_unconfigured()
    return handler
