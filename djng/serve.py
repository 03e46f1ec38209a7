"""Serving: ``wsgi(app)`` for any WSGI server, ``serve(app)`` for development.

Every request runs in its own copy of the context, so whatever it pushes on a
service stack is gone when it ends; the body of a streaming response is
iterated, and the response closed, inside that same context.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context, copy_context
from typing import Any

from django.core.signals import request_started
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix, set_urlconf

from . import conf
from .handler import respond
from .router import find_router
from .services import debug as debug_service
from .services import load_environment
from .services.stack import in_request

__all__ = ["WSGIHandler", "serve", "wsgi"]

StartResponse = Callable[..., Any]


class WSGIHandler:
    """A WSGI callable for a djng app (any ``request -> response`` callable)."""

    def __init__(self, app: Callable) -> None:
        if not callable(app):
            raise TypeError(f"djng.wsgi() needs a view (request -> response), got {app!r}")
        conf.setup()
        load_environment()
        from .request import Request  # Django's WSGI module is imported when first served

        self.request_class = Request
        self.app = app
        self.urlconf = find_router(app)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        ctx = copy_context()
        response = ctx.run(self.get_response, environ)[1]
        if not response.streaming and "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [
                *response.items(),
                *(("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()),
            ],
        )
        if environ.get("REQUEST_METHOD") == "HEAD":
            return _Body(ctx, response, iter(()))
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper is not None and getattr(response, "file_to_stream", None) is not None:
            # As Django does: the server streams the file and closing it closes the response.
            response.file_to_stream.close = lambda: ctx.run(response.close)
            return file_wrapper(response.file_to_stream, response.block_size)
        return _Body(ctx, response, iter(response))

    def get_response(self, environ: dict) -> tuple[HttpRequest, HttpResponseBase]:
        """Build the request and answer it; call inside the request's own context."""
        in_request.set(True)
        if self.urlconf is not None:
            set_urlconf(self.urlconf)
        script_name = environ.get("SCRIPT_NAME")
        if script_name:
            set_script_prefix(script_name.encode("iso-8859-1").decode("utf-8", "replace"))
        request_started.send(sender=self.__class__, environ=environ)
        request = self.request_class(environ)
        response = respond(self.app, request)
        response._resource_closers.append(request.close)
        return request, response


class _Body:
    """The response body, each step and the final close() run in the request's context."""

    __slots__ = ("_ctx", "_response", "_chunks")

    def __init__(self, ctx: Context, response: HttpResponseBase, chunks: Iterator) -> None:
        self._ctx = ctx
        self._response = response
        self._chunks = chunks

    def __iter__(self) -> _Body:
        return self

    def __next__(self) -> bytes:
        return self._ctx.run(next, self._chunks)

    def close(self) -> None:
        self._ctx.run(self._response.close)


def wsgi(app: Callable) -> WSGIHandler:
    """A standard WSGI callable for ``app``: ``application = djng.wsgi(app)``."""
    return app if isinstance(app, WSGIHandler) else WSGIHandler(app)


def serve(
    app: Callable,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    reload: bool = False,
    debug: bool = False,
) -> None:
    """Serve ``app`` over HTTP for development (werkzeug's threaded server).

    ``reload=True`` restarts the process when code changes; ``debug=True`` shows
    Django's technical 500 page for unhandled exceptions. Ctrl-C stops it.
    """
    from werkzeug.serving import is_running_from_reloader, run_simple

    handler = wsgi(app)
    if debug:
        debug_service.configure(True)
    if not is_running_from_reloader():
        _check_port(host, port)
    try:
        run_simple(
            host,
            port,
            handler,
            threaded=True,
            use_reloader=reload,
            reloader_type="stat",
            use_debugger=False,
        )
    except KeyboardInterrupt:
        pass


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line, not a traceback, when the address cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise SystemExit(
            f"djng: cannot listen on {host}:{port}: {reason}. "
            "Stop the other server or choose another port: djng.serve(app, port=...)."
        ) from None
