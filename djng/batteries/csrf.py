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

__all__ = ["csrf", "csrf_exempt", "failure"]

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
        # For a subtree: the check runs later, around the view an inner Router picks.
        request._dont_enforce_csrf_checks = True
        return view(request, *args, **kwargs)

    functools.update_wrapper(exempt, view, updated=())
    exempt.csrf_exempt = True
    return exempt


def is_exempt(view: Any) -> bool:
    """True if ``view``, or a view it wraps, is marked ``csrf_exempt``."""
    for _ in range(100):
        if view is None:
            return False
        if getattr(view, "csrf_exempt", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The ``CSRF_FAILURE_VIEW``: a 403 that explains what was missing."""
    from ..responses import error_response

    detail = f"CSRF verification failed: {reason or 'the request was rejected.'} {_HINT}"
    return error_response(request, 403, detail)


@functools.cache
def _middleware_class() -> type:
    from django.middleware.csrf import CsrfViewMiddleware

    class CsrfMiddleware(CsrfViewMiddleware):
        """Django's CSRF middleware that also honours ``csrf_exempt`` on wrapped views."""

        def process_request(self, request: HttpRequest) -> None:
            request._djng_csrf = True
            super().process_request(request)

        def process_view(
            self, request: HttpRequest, callback: Any, callback_args: tuple, callback_kwargs: dict
        ) -> Any:
            if is_exempt(callback):
                return None
            return super().process_view(request, callback, callback_args, callback_kwargs)

    return CsrfMiddleware


def csrf(app: Callable) -> Callable:
    """Check a CSRF token on unsafe methods (POST, PUT, PATCH, DELETE) for ``app``.

    Added once: inside another ``csrf`` layer (or ``djng.sessions``), it does nothing.
    """
    from ..middleware import middleware

    layer = middleware(_middleware_class())(app)
    return once(lambda request: "_djng_csrf" in request.__dict__, layer, app)


def once(present: Callable[[HttpRequest], bool], layer: Callable, app: Callable) -> Callable:
    """``layer`` (which wraps ``app``), skipped for a request on which ``present`` is true."""

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if present(request):
            return app(request, *args, **kwargs)
        return layer(request, *args, **kwargs)

    functools.update_wrapper(view, app, updated=())
    return view
