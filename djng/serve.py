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

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import set_script_prefix, set_urlconf

from . import conf, housekeeping
from .handler import respond
from .router import Router, find_router
from .services import debug as debug_service
from .services import load_environment
from .services.stack import in_request

__all__ = ["WSGIHandler", "serve", "wsgi"]

StartResponse = Callable[..., Any]

_PLAIN_ITER = HttpResponse.__iter__


class WSGIHandler:
    """A WSGI callable for a djng app (any ``request -> response`` callable)."""

    def __init__(self, app: Callable) -> None:
        if not callable(app):
            raise TypeError(f"djng.wsgi() needs a view (request -> response), got {app!r}")
        conf.setup()
        if conf.owns_settings:
            housekeeping.install()
        load_environment()
        from .services.secrets import secrets

        secrets.check()  # an app that signs cookies needs a key: say so now, not mid-request
        from .request import Request  # Django's WSGI module is imported when first served

        self.request_class = Request
        self.app = app
        self.urlconf = find_router(app)
        # A Router served directly skips its own "is a urlconf set?" check:
        # get_response() sets it as the urlconf just before calling it.
        self._view = app._dispatch if type(app) is Router else app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        ctx = copy_context()
        response = ctx.run(self.get_response, environ)[1]
        headers = [*response.items()]
        streaming = response.streaming
        if not streaming and not response.has_header("Content-Length"):
            # Sent, not stored on the response: the same header list, without
            # a second pass through the response's header validation.
            headers.append(("Content-Length", str(len(response.content))))
        cookies = response.cookies
        if cookies:
            headers += [("Set-Cookie", cookie.OutputString()) for cookie in cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return _Body(ctx, response, iter(()))
        if not streaming and type(response).__iter__ is _PLAIN_ITER:
            # The chunks are bytes already; iterating them runs no code, so the
            # server iterates them directly and only close() needs the context.
            return _Closing(ctx, response)
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
        housekeeping.send_request_started(self.__class__, environ)
        request = self.request_class(environ)
        response = respond(self._view, request)
        response._resource_closers.append(request.close)
        return request, response


class _Closing:
    """A non-streaming body: its chunks as they are, close() in the request's context."""

    __slots__ = ("_ctx", "_response")

    def __init__(self, ctx: Context, response: HttpResponse) -> None:
        self._ctx = ctx
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._response)

    def close(self) -> None:
        self._ctx.run(self._response.close)


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
    migrate: bool = True,
) -> None:
    """Serve ``app`` over HTTP for development (werkzeug's threaded server).

    ``reload=True`` restarts the process when code changes; ``debug=True`` shows
    Django's technical 500 page for unhandled exceptions. Ctrl-C stops it.
    ``migrate=True`` applies pending migrations and creates missing tables
    before the first request, if the app uses a database. When the script's
    command line names a management command (``python app.py migrate``), that
    command runs instead of the server (see ``djng.commands``).
    """
    from werkzeug.serving import is_running_from_reloader, run_simple

    from . import commands

    if commands.run_from_argv():
        return
    if debug:
        debug_service.configure(True)
    handler = wsgi(app)
    if not is_running_from_reloader():
        _check_port(host, port)
    if migrate and (not reload or is_running_from_reloader()):
        commands.prepare_database()
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
