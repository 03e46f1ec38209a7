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

:func:`layer` makes a wrapper declare what the app it wraps declares, and takes
its name and docstring (``functools.update_wrapper``); ``functools.wraps`` in
your own wrappers keeps both declarations too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponseBase
from django.urls import get_urlconf, set_urlconf

__all__ = ["Dispatcher", "layer", "router_of"]

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

    def dispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        """Answer ``request``, the urlconf being set: route it and call the endpoint."""
        raise NotImplementedError


def router_of(app: Any) -> Any:
    """The URL dispatcher inside ``app``, or None when ``app`` is an endpoint."""
    return getattr(app, "djng_router", None)


def layer(wrapper: F, app: Any) -> F:
    """Make ``wrapper`` a layer around ``app``: its name, docs and declarations."""
    functools.update_wrapper(wrapper, app, updated=())
    wrapper.djng_router = router_of(app)
    if getattr(app, "csrf_exempt", False):
        wrapper.csrf_exempt = True
    return wrapper
