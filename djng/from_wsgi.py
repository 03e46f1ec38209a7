"""``from_wsgi``: any WSGI app (Flask, werkzeug, another framework) as a djng view."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.http.request import RawPostDataException

from . import _django

__all__ = ["from_wsgi", "set_wsgi_headers"]


def from_wsgi(wsgi_app: Callable[[dict, Callable], Iterable[bytes]]) -> Callable:
    """A view that runs ``wsgi_app`` for the request.

    Mounted under a prefix, the app sees it in ``SCRIPT_NAME`` and the rest in
    ``PATH_INFO``; the request body passes through, and the app's status, headers
    and every ``Set-Cookie`` come back on the response.
    """
    if not callable(wsgi_app):
        raise TypeError(f"djng.from_wsgi() needs a WSGI application, got {wsgi_app!r}")

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        environ = dict(request.META)
        environ["wsgi.input"] = _body_stream(request)
        started: list = []
        written: list[bytes] = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        result = wsgi_app(environ, start_response)
        chunks = iter(result)
        try:
            # Many apps call start_response only once the body is first iterated.
            first = [next(chunks)] if not started else []
        except StopIteration:
            first = []
        except BaseException:
            _close(result)
            raise
        if not started:
            _close(result)
            raise RuntimeError(f"The WSGI app {wsgi_app!r} did not call start_response()")
        status, headers = started
        code, _, reason = status.partition(" ")
        if isinstance(result, (list, tuple)):
            response: HttpResponseBase = HttpResponse(
                b"".join(chain(written, first, chunks)), status=int(code), reason=reason or None
            )
            _close(result)
        else:
            response = StreamingHttpResponse(
                chain(written, first, chunks), status=int(code), reason=reason or None
            )
            if hasattr(result, "close"):
                _django.add_closer(response, result.close)
        return set_wsgi_headers(response, headers)

    # A WSGI app is an endpoint: it declares no URL dispatcher (djng.layers).
    functools.update_wrapper(view, wsgi_app, updated=())
    return view


def set_wsgi_headers(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> Any:
    """Give ``response`` exactly the headers a WSGI app sent (and no others).

    Each ``Set-Cookie`` goes to ``response.cookies`` (Django's headers cannot hold
    a name twice); another repeated header is joined with commas, as HTTP allows.
    """
    del response["Content-Type"]
    for name, value in headers:
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        elif name in response:
            response[name] = f"{response[name]}, {value}"
        else:
            response[name] = value
    return response


def _body_stream(request: HttpRequest) -> Any:
    try:
        return _django.unread_body(request)
    except RawPostDataException as exc:
        raise RuntimeError(
            "The request body was already consumed (for example through request.POST with a "
            "multipart upload) before reaching a mounted WSGI app; let the mounted app read it."
        ) from exc


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()
