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
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .layers import router_of
from .responses import to_response
from .services.errors import response_for_exception
from .state import peek

__all__ = ["Caller", "call_endpoint", "caller", "respond"]

#: How a layer calls the app it wraps: ``(request, args, kwargs) -> response``.
Caller = Callable[[HttpRequest, tuple, dict], HttpResponseBase]

#: Keyword arguments of a call that has none (shared by handler and router; never changed).
NO_KWARGS: dict = {}


def call_endpoint(
    request: HttpRequest, view: Callable, args: tuple = (), kwargs: dict = NO_KWARGS
) -> HttpResponseBase:
    """Call the endpoint ``view`` with the waiting middleware view hooks around it."""
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


def caller(app: Callable) -> Caller:
    """How a layer calls ``app``, decided once: an app with a URL dispatcher inside
    is called as it is (the dispatcher calls the endpoint it picks); anything else
    is an endpoint."""
    if router_of(app) is None:
        return lambda request, args, kwargs: call_endpoint(request, app, args, kwargs)
    return lambda request, args, kwargs: to_response(app(request, *args, **kwargs), app)


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
