"""The view path: how every djng layer calls what it wraps, and what it answers.

Every endpoint a request reaches (a view, a dict view's method, a mounted app,
``from_wsgi(...)``, the admin's views, a Django URLconf's views) is called by
:func:`call_endpoint`, which runs the view hooks of enclosing Django middleware
around it exactly once: ``process_view`` in order, ``process_exception`` and
``process_template_response`` in reverse, as Django's handler does.
``djng.middleware`` leaves its hooks waiting in the request's state
(``view_hooks``) when the app it wraps has a URL dispatcher inside
(``djng.layers``): the dispatcher then calls the endpoint it picks through
:func:`call_endpoint`, and the hooks run around that endpoint.

:func:`respond` is what a layer that must always answer uses (the WSGI
adapter, each ``djng.middleware`` wrapper): call the app, render a lazy
``TemplateResponse``, and turn an exception into a response by the one rule
(``djng.services.errors.response_for_exception``).

Each has an async twin (:func:`acall_endpoint`, :func:`arespond`,
:func:`acaller`) for the layers' async path under ``djng.asgi``: an async
endpoint is awaited on the event loop; a sync one hops once to the request's
worker thread (``djng.workers``), middleware view hooks included. Under WSGI an
async view runs to completion in the request's thread (``to_response``).

A websocket connection (``djng.websocket``) reaches only a websocket route's
endpoint: any other endpoint answers it 404, so HTTP views never take one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from .layers import async_of, router_of
from .responses import to_response
from .services.errors import is_server_error, response_for_exception
from .state import peek
from .websocket import CONNECTION, not_a_websocket_route
from .workers import in_worker

__all__ = [
    "ACaller", "Caller", "acall_endpoint", "acaller", "arespond", "call_endpoint", "caller",
    "respond",
]

#: How a layer calls the app it wraps: ``(request, args, kwargs) -> response``.
Caller = Callable[[HttpRequest, tuple, dict], HttpResponseBase]
#: The same, on the async path.
ACaller = Callable[[HttpRequest, tuple, dict], Awaitable[HttpResponseBase]]

#: Keyword arguments of a call that has none (shared by handler and router; never changed).
NO_KWARGS: dict = {}


def call_endpoint(
    request: HttpRequest, view: Callable, args: tuple = (), kwargs: dict = NO_KWARGS
) -> HttpResponseBase:
    """Call the endpoint ``view`` with the waiting middleware view hooks around it."""
    if CONNECTION in request.META:
        not_a_websocket_route(request, view)
    request_state = peek(request)
    hooks = request_state.view_hooks if request_state is not None else ()
    if not hooks:
        return to_response(view(request, *args, **kwargs), view)
    request_state.view_hooks = ()  # consumed: an endpoint inside this one must not run them again
    for mw in hooks:
        process_view = getattr(mw, "process_view", None)
        if process_view is not None:
            result = process_view(request, view, args, kwargs)
            if result is not None:
                response = to_response(result, process_view)
                break
    else:
        try:
            response = to_response(view(request, *args, **kwargs), view)
        except Exception as exc:
            response = _process_exception(hooks, request, exc)
    if getattr(response, "render", None) is not None:
        for mw in reversed(hooks):
            process_template_response = getattr(mw, "process_template_response", None)
            if process_template_response is not None:
                response = process_template_response(request, response)
                if response is None:
                    raise ValueError(
                        f"{type(mw).__qualname__}.process_template_response didn't return "
                        "an HttpResponse object. It returned None instead."
                    )
    return response


def _process_exception(hooks: tuple, request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """The first response a ``process_exception`` hook gives (in reverse order), else raise."""
    for mw in reversed(hooks):
        process_exception = getattr(mw, "process_exception", None)
        if process_exception is not None:
            result = process_exception(request, exc)
            if result is not None:
                return to_response(result, process_exception)
    raise exc


async def acall_endpoint(
    request: HttpRequest, view: Callable, args: tuple = (), kwargs: dict = NO_KWARGS
) -> HttpResponseBase:
    """:func:`call_endpoint` on the async path: an async view is awaited on the
    loop, a sync one (with the view hooks) runs on the request's worker thread."""
    if CONNECTION in request.META:
        not_a_websocket_route(request, view)
    twin = async_of(view)
    if twin is None:
        return await _call_endpoint_in_worker(request, view, args, kwargs)
    request_state = peek(request)
    hooks = request_state.view_hooks if request_state is not None else ()
    if not hooks:
        return to_response(await twin(request, *args, **kwargs), view)
    request_state.view_hooks = ()
    for mw in hooks:
        process_view = getattr(mw, "process_view", None)
        if process_view is not None:
            result = await _maybe_in_worker(process_view, request, view, args, kwargs)
            if result is not None:
                response = to_response(result, process_view)
                break
    else:
        try:
            response = to_response(await twin(request, *args, **kwargs), view)
        except Exception as exc:
            response = await _aprocess_exception(hooks, request, exc)
    if getattr(response, "render", None) is not None:
        for mw in reversed(hooks):
            process_template_response = getattr(mw, "process_template_response", None)
            if process_template_response is not None:
                response = await _maybe_in_worker(process_template_response, request, response)
                if response is None:
                    raise ValueError(
                        f"{type(mw).__qualname__}.process_template_response didn't return "
                        "an HttpResponse object. It returned None instead."
                    )
    return response


_call_endpoint_in_worker = in_worker(call_endpoint)


async def _aprocess_exception(
    hooks: tuple, request: HttpRequest, exc: Exception
) -> HttpResponseBase:
    for mw in reversed(hooks):
        process_exception = getattr(mw, "process_exception", None)
        if process_exception is not None:
            result = await _maybe_in_worker(process_exception, request, exc)
            if result is not None:
                return to_response(result, process_exception)
    raise exc


async def _maybe_in_worker(func: Callable, *args: Any) -> Any:
    """Await an async hook; run a sync one (Django's are) on the worker thread."""
    if iscoroutinefunction(func):
        return await func(*args)
    return await in_worker(func)(*args)


def caller(app: Callable) -> Caller:
    """How a layer calls ``app``, decided once: an app with a URL dispatcher inside
    is called as it is (the dispatcher calls the endpoint it picks); anything else
    is an endpoint."""
    if router_of(app) is None:
        return lambda request, args, kwargs: call_endpoint(request, app, args, kwargs)
    return lambda request, args, kwargs: to_response(app(request, *args, **kwargs), app)


def acaller(app: Callable) -> ACaller:
    """:func:`caller` on the async path: ``app``'s async twin, else a hop for the whole app."""
    twin = async_of(app)
    if router_of(app) is None:
        return lambda request, args, kwargs: acall_endpoint(request, app, args, kwargs)
    if twin is None:
        return in_worker(caller(app))

    async def call_twin(request: HttpRequest, args: tuple, kwargs: dict) -> HttpResponseBase:
        return to_response(await twin(request, *args, **kwargs), app)

    return call_twin


def respond(
    request: HttpRequest, call: Caller, args: tuple = (), kwargs: dict = NO_KWARGS
) -> HttpResponseBase:
    """Call through ``call`` and always return a rendered response, whatever happens."""
    try:
        response = call(request, args, kwargs)
        if getattr(response, "render", None) is not None:
            response = response.render()
    except Exception as exc:
        response = response_for_exception(request, exc)
    return response


async def arespond(
    request: HttpRequest, call: ACaller, args: tuple = (), kwargs: dict = NO_KWARGS
) -> HttpResponseBase:
    """:func:`respond` on the async path. A lazy response is rendered, and a server
    error reported (a reporter may send mail), on the worker thread."""
    try:
        response = await call(request, args, kwargs)
        if getattr(response, "render", None) is not None and not response.is_rendered:
            response = await in_worker(response.render)()
    except Exception as exc:
        if is_server_error(exc):
            response = await in_worker(response_for_exception)(request, exc)
        else:
            response = response_for_exception(request, exc)
    return response
