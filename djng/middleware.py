"""Middleware: functions ``app -> app``.

``middleware(cls)`` adapts any Django middleware class that follows
``MW(get_response)``; ``gzip`` is Django's GZipMiddleware through it;
``error_pages`` (exposed as ``djng.errors(app, ...)``) gives an app or a
subtree its own 404 and 500 views.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponseBase

from .handler import (
    call_view,
    is_server_error,
    report_exception,
    respond,
    server_error_response,
)
from .responses import to_response
from .router import find_router
from .services import debug

__all__ = ["error_pages", "gzip", "middleware"]

_VIEW_HOOKS = ("process_view", "process_exception", "process_template_response")
_NO_ARGS: tuple[tuple, dict] = ((), {})
#: Request attributes a wrapper sets for the app it wraps, restored afterwards.
_REQUEST_STATE = ("_djng_args", "_djng_view_hooks", "urlconf")
_MISSING = object()


def middleware(cls: type, **options: Any) -> Callable[[Callable], Callable]:
    """Turn a Django middleware class into a djng wrapper: ``middleware(cls)(app)``.

    Django's semantics are kept: ``process_request``/``process_response`` run
    around the app, which always hands back a response (exceptions inside become
    responses, as in Django); ``process_view``, ``process_exception`` and
    ``process_template_response`` run around the view the Router picks.
    """
    if not callable(cls):
        raise TypeError(f"djng.middleware() needs a Django middleware class, got {cls!r}")

    def wrap(app: Callable) -> Callable:
        router = find_router(app)
        picks_view = router is not None

        def get_response(request: HttpRequest) -> HttpResponseBase:
            # What an enclosing route captured (a mount's prefix) still reaches the app.
            args, kwargs = request.__dict__.get("_djng_args", _NO_ARGS)
            if picks_view:
                return respond(app, request, *args, **kwargs)
            return respond(call_view, request, app, args, kwargs)  # view hooks around app

        instance = cls(get_response, **options)
        has_hooks = any(hasattr(instance, hook) for hook in _VIEW_HOOKS)

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            state = request.__dict__
            saved = [(name, state.get(name, _MISSING)) for name in _REQUEST_STATE]
            request._djng_args = (args, kwargs)
            if picks_view:
                # Django middleware that resolves request.path_info (CommonMiddleware's
                # APPEND_SLASH) must use the Router that path_info is relative to.
                request.urlconf = router
            if has_hooks:
                outer = request.__dict__.get("_djng_view_hooks", ())
                request._djng_view_hooks = (*outer, instance)
            try:
                return instance(request)
            finally:
                for name, value in saved:
                    if value is _MISSING:
                        state.pop(name, None)
                    else:
                        state[name] = value

        functools.update_wrapper(view, app, updated=())
        view.middleware = instance
        return view

    return wrap


def gzip(app: Callable) -> Callable:
    """Compress responses for clients that accept gzip (Django's GZipMiddleware)."""
    from django.middleware.gzip import GZipMiddleware

    return middleware(GZipMiddleware)(app)


def error_pages(
    app: Callable,
    *,
    not_found: Callable | None = None,
    server_error: Callable | None = None,
) -> Callable:
    """Give ``app`` its own 404 and 500 views.

    ``not_found`` handles ``Http404`` (including no matching route) and
    ``server_error`` handles unhandled exceptions, after they are reported.
    Either view receives ``(request, exception)``, or just ``(request)`` if that
    is all it takes. With ``djng.debug`` on, the technical 500 page wins.
    """
    on_404 = _error_view(not_found, "not_found", 404)
    on_500 = _error_view(server_error, "server_error", 500)
    if on_404 is None and on_500 is None:
        raise TypeError("djng.errors(app, ...) needs not_found=view and/or server_error=view")

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = to_response(app(request, *args, **kwargs), app)
        except Exception as exc:
            response, caught = None, exc
        else:
            caught = getattr(response, "_djng_exception", None)
            if caught is None:
                return response
        if on_404 is not None and isinstance(caught, Http404):
            return on_404(request, caught)
        if on_500 is not None and is_server_error(caught):
            if debug.current():
                return server_error_response(request, caught)
            report_exception(request, caught)
            return on_500(request, caught)
        if response is None:
            raise caught
        return response

    functools.update_wrapper(view, app, updated=())
    return view


def _error_view(view: Callable | None, role: str, status: int) -> Callable | None:
    if view is None:
        return None
    if not callable(view):
        raise TypeError(f"djng.errors({role}=...) must be a view, got {view!r}")
    try:
        params = inspect.signature(view).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes_exception = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        takes_exception = True

    def call(request: HttpRequest, exc: Exception) -> HttpResponseBase:
        result = view(request, exc) if takes_exception else view(request)
        response = to_response(result, view)
        if not isinstance(result, (HttpResponseBase, tuple)):
            response.status_code = status  # a bare body keeps the error's status
            response.reason_phrase = None
        return response

    return call
