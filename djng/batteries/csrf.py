"""CSRF protection: Django's ``CsrfViewMiddleware`` as a djng layer, and ``csrf_exempt``.

The layer is part of ``djng.sessions()`` (and so of ``djng.auth()`` and
``djng.admin()``): wherever a cookie identifies the user, unsafe methods need a
token. ``{% csrf_token %}`` works in every Django template. A rejected request
gets a 403 that says what was missing, in the form the client asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .. import _django
from ..layers import async_of, layer
from ..state import state

__all__ = ["csrf", "csrf_exempt", "failure", "once"]

_HINT = (
    "A form that POSTs must include {% csrf_token %}; a JavaScript client must send the "
    "value of the csrftoken cookie in an X-CSRFToken header; an API that does not "
    "authenticate with cookies can be marked djng.csrf_exempt."
)


def csrf_exempt(view: Callable) -> Callable:
    """No CSRF check for ``view``, or for everything under it (a Router, a mounted app)."""
    if not callable(view):
        raise TypeError(f"djng.csrf_exempt() needs a view, got {view!r}")

    def exempt(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # For a subtree: the check runs later, around the endpoint an inner Router picks.
        _django.skip_csrf_checks(request)
        return view(request, *args, **kwargs)

    async def aexempt(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        _django.skip_csrf_checks(request)
        return await async_of(view)(request, *args, **kwargs)

    exempt = layer(exempt, view, aexempt)
    exempt.csrf_exempt = True  # Django's own mark, which CsrfViewMiddleware reads
    return exempt


def failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The ``CSRF_FAILURE_VIEW``: a 403 that explains what was missing."""
    from ..responses import error_response

    detail = f"CSRF verification failed: {reason or 'the request was rejected.'} {_HINT}"
    return error_response(request, 403, detail)


@functools.cache
def _middleware_class() -> type:
    from django.middleware.csrf import CsrfViewMiddleware

    class CsrfMiddleware(CsrfViewMiddleware):
        """Django's CSRF middleware, noting on the request that it is there."""

        def process_request(self, request: HttpRequest) -> None:
            state(request).csrf = True
            super().process_request(request)

    return CsrfMiddleware


def csrf(app: Callable) -> Callable:
    """Check a CSRF token on unsafe methods (POST, PUT, PATCH, DELETE) for ``app``.

    Added once: inside another ``csrf`` layer (or ``djng.sessions``), it does nothing.
    """
    from ..middleware import middleware

    checked = middleware(_middleware_class())(app)
    return once(lambda request: state(request).csrf, checked, app)


def once(present: Callable[[HttpRequest], bool], wrapped: Callable, app: Callable) -> Callable:
    """``wrapped`` (a layer around ``app``), skipped for a request on which ``present`` is true."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if present(request):
            return app(request, *args, **kwargs)
        return wrapped(request, *args, **kwargs)

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return await async_of(app if present(request) else wrapped)(request, *args, **kwargs)

    return layer(view, app, twin)
