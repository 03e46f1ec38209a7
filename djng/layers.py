"""The small protocol of djng apps: what an app declares about itself.

An app is any callable ``app(request, **kwargs) -> response``. Two declared
attributes, never found by unwrapping, tell the other layers what they need:

- ``djng_router``: the URL dispatcher inside the app (a :class:`Dispatcher`:
  a ``Router``, the admin, a Django URLconf), which picks the endpoint for
  ``request.path_info``. A dispatcher is its own; a layer around an app
  declares the app's. An app without one is an endpoint: the view path runs
  middleware view hooks around it (``djng.handler``), and a route that mounts
  it does not look inside.
- ``csrf_exempt``: Django's own mark (``django.views.decorators.csrf``), kept by
  every layer around an exempt view.
- ``djng_async``: the layer's async twin, a coroutine function doing what the
  layer does without blocking the event loop (:func:`async_of`). A djng layer
  has one when the app it wraps has async views inside; ``djng.asgi`` then
  routes on the loop and awaits them, and only sync endpoints hop to a worker
  thread. An ``async def`` view is its own twin.

:func:`layer` makes a wrapper declare what the app it wraps declares, and takes
its name and docstring (``functools.update_wrapper``); ``functools.wraps`` in
your own wrappers keeps ``djng_router`` and ``csrf_exempt`` too, but not a
twin: a twin belongs to the object that declared it (a sync wrapper of yours
around an async app is called as what it is, a sync app).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_urlconf, set_urlconf

__all__ = ["Dispatcher", "async_of", "declare_async", "layer", "router_of"]

F = TypeVar("F", bound=Callable)


class Dispatcher:
    """A view that picks the endpoint for ``request.path_info``: the URL dispatcher protocol.

    Subclasses give ``urlpatterns`` (what Django's ``reverse()``, ``resolve()``
    and ``{% url %}`` see when the dispatcher is the urlconf) and
    :meth:`dispatch`. Called as a view, a dispatcher makes itself the urlconf of
    the request unless an outer one already is; the WSGI adapter, and a Router
    that mounts it, set the urlconf and call :meth:`dispatch` directly.
    """

    urlpatterns: list

    @property
    def djng_router(self) -> Dispatcher:
        return self

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if get_urlconf() is None:
            set_urlconf(self)
        return self.dispatch(request, **kwargs)

    async def acall(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """The async twin of calling the dispatcher (declared when it has async views)."""
        if get_urlconf() is None:
            set_urlconf(self)
        return await self.adispatch(request, **kwargs)

    def dispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        """Answer ``request``, the urlconf being set: route it and call the endpoint."""
        raise NotImplementedError

    async def adispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        """:meth:`dispatch` on the async path (``djng.asgi``)."""
        raise NotImplementedError


def router_of(app: Any) -> Any:
    """The URL dispatcher inside ``app``, or None when ``app`` is an endpoint."""
    return getattr(app, "djng_router", None)


def async_of(app: Any) -> Callable | None:
    """The coroutine function that answers like ``app`` without blocking, or None
    when ``app`` is sync all the way down (an ``async def`` view is its own)."""
    if iscoroutinefunction(app):
        return app
    declared = getattr(app, "djng_async", None)
    if declared is not None and declared[0] is app:
        return declared[1]
    if not isinstance(app, type) and iscoroutinefunction(type(app).__call__):
        return app  # an object whose __call__ is async
    return None


def declare_async(app: F, twin: Callable | None) -> F:
    """Declare ``twin`` the async twin of ``app`` (None: ``app`` has none)."""
    app.djng_async = None if twin is None else (app, twin)
    return app


def layer(wrapper: F, app: Any, twin: Callable | None = None) -> F:
    """Make ``wrapper`` a layer around ``app``: its name, docs and declarations.

    ``twin`` is the layer's async twin; it is declared only when ``app`` has
    async views inside (else the layer is sync, and hops as a whole).
    """
    functools.update_wrapper(wrapper, app, updated=())
    wrapper.djng_router = router_of(app)
    hooks = getattr(app, "djng_lifespan", None)
    if hooks:
        wrapper.djng_lifespan = hooks  # start-up and shutdown (djng.lifespan)
    if getattr(app, "csrf_exempt", False):
        wrapper.csrf_exempt = True
    if twin is not None and async_of(app) is not None:
        functools.update_wrapper(twin, app, updated=())
        declare_async(wrapper, twin)
    else:
        wrapper.djng_async = None
    return wrapper
