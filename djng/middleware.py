"""Middleware: functions ``app -> app``.

``middleware(cls)`` adapts any Django middleware class that follows
``MW(get_response)``; ``gzip`` is Django's GZipMiddleware through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from .handler import acaller, arespond, caller, respond
from .layers import async_of, layer, router_of
from .state import state
from .workers import in_worker

__all__ = ["gzip", "middleware"]

_VIEW_HOOKS = ("process_view", "process_exception", "process_template_response")
_MISSING = object()


def middleware(cls: type, **options: Any) -> Callable[[Callable], Callable]:
    """Turn a Django middleware class into a djng wrapper: ``middleware(cls)(app)``.

    Django's semantics are kept: ``process_request``/``process_response`` run
    around the app, which always hands back a response (exceptions inside become
    responses by djng's one rule, as in Django); ``process_view``,
    ``process_exception`` and ``process_template_response`` run around the
    endpoint the request reaches (``djng.handler``).

    Around async views (under ``djng.asgi``), a class that is ``async_capable``
    (Django's ``MiddlewareMixin`` classes are) runs in Django's async mode:
    native async middleware on the loop, ``MiddlewareMixin``'s sync hooks on the
    request's worker thread. A sync-only class runs on that thread as a whole.
    An async-only class (``sync_capable = False``) on the sync path (under WSGI,
    or around a sync app) is given an async ``get_response`` and run to
    completion, as Django's handler does.
    """
    if not callable(cls):
        raise TypeError(f"djng.middleware() needs a Django middleware class, got {cls!r}")
    settings_given = sorted(name for name in options if name.isupper())
    if settings_given:
        raise TypeError(
            f"djng.middleware({getattr(cls, '__name__', cls)}, ...): {', '.join(settings_given)} "
            "are settings, not options of the class; set them with "
            f"djng.settings({settings_given[0]}=...) at the top of app.py"
        )

    def wrap(app: Callable) -> Callable:
        call = caller(app)
        router = router_of(app)

        def get_response(request: HttpRequest) -> HttpResponseBase:
            # What an enclosing route captured (a mount's prefix) still reaches the app.
            args, kwargs = state(request).route_args
            return respond(request, call, args, kwargs)

        if getattr(cls, "sync_capable", True):
            instance = cls(get_response, **options)
            call_instance = instance
        else:
            # An async-only class on the sync path: as Django does, it gets an async
            # get_response (the app runs on this thread) and is run to completion here.
            instance = cls(in_worker(get_response), **options)
            call_instance = async_to_sync(instance)
        has_hooks = any(hasattr(instance, hook) for hook in _VIEW_HOOKS)

        def around(request: HttpRequest, mw: Any, args: tuple, kwargs: dict) -> Callable:
            """Set the request up for ``mw``; returns what puts it back."""
            request_state = state(request)
            saved = request_state.route_args, request_state.view_hooks
            saved_urlconf = request.__dict__.get("urlconf", _MISSING)
            request_state.route_args = (args, kwargs)
            if router is not None:
                # Django middleware that resolves request.path_info (CommonMiddleware's
                # APPEND_SLASH) must use the dispatcher that path_info is relative to.
                request.urlconf = router
            if has_hooks:
                request_state.view_hooks = (*request_state.view_hooks, mw)

            def restore() -> None:
                request_state.route_args, request_state.view_hooks = saved
                if saved_urlconf is _MISSING:
                    request.__dict__.pop("urlconf", None)
                else:
                    request.urlconf = saved_urlconf

            return restore

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            restore = around(request, instance, args, kwargs)
            try:
                return call_instance(request)
            finally:
                restore()

        twin = None
        if async_of(app) is not None:
            if getattr(cls, "async_capable", False):
                acall = acaller(app)

                async def aget_response(request: HttpRequest) -> HttpResponseBase:
                    args, kwargs = state(request).route_args
                    return await arespond(request, acall, args, kwargs)

                # Django's async mode: the class sees a coroutine get_response.
                ainstance = cls(markcoroutinefunction(aget_response), **options)

                async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                    restore = around(request, ainstance, args, kwargs)
                    try:
                        return await ainstance(request)
                    finally:
                        restore()
            else:
                # A sync-only middleware: the whole layer runs on the worker thread,
                # and the async views inside come back to the loop from there.
                twin = in_worker(view)

        view.middleware = instance
        return layer(view, app, twin)

    return wrap


def gzip(app: Callable) -> Callable:
    """Compress responses for clients that accept gzip (Django's GZipMiddleware)."""
    from django.middleware.gzip import GZipMiddleware

    return middleware(GZipMiddleware)(app)
