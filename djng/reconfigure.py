"""``reconfigure(app, cache=..., mail=...)``: an app with its own services.

The backends are in effect for the whole of the wrapped app's request: the
view, an unhandled exception's report and error page, the rendering of a lazy
``TemplateResponse`` and the iteration of a streaming body, sync or async
(``Use.bind``), whether the app's views are sync or async.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .layers import async_of, layer
from .responses import to_response
from .services import SERVICES
from .services.errors import is_server_error, response_for_exception
from .services.stack import Use
from .workers import in_worker

__all__ = ["reconfigure"]


def reconfigure(app: Callable | None = None, /, **backends: Any) -> Callable:
    """Wrap ``app`` so that it runs with ``backends`` pushed; also a decorator.

    ``djng.reconfigure(section, cache=djng.cache.LocMem())`` or
    ``@djng.reconfigure(mail=premium_smtp)``. An unhandled exception in ``app``
    is reported, and its 500 page made, with these services (``errors``,
    ``debug``...) in effect; Django's 4xx exceptions pass on, for the error
    pages and middleware further out.
    """
    if not backends:
        raise TypeError("djng.reconfigure() needs at least one service, e.g. cache=...")
    unknown = sorted(set(backends) - set(SERVICES))
    if unknown:
        raise TypeError(
            f"djng.reconfigure() got unknown service(s) {', '.join(unknown)}; "
            f"the services are: {', '.join(sorted(SERVICES))}"
        )
    scope = Use(tuple((SERVICES[name], SERVICES[name].coerce(b)) for name, b in backends.items()))

    def wrap(app: Callable) -> Callable:
        if not callable(app):
            raise TypeError(f"djng.reconfigure() needs a view to wrap, got {app!r}")

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            return scope.run(_call, scope, app, request, args, kwargs)

        async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            return await scope.arun(_acall, scope, app, request, args, kwargs)

        return layer(view, app, twin)

    return wrap if app is None else wrap(app)


def _call(scope: Use, app: Callable, request: HttpRequest, args: tuple, kwargs: dict) -> Any:
    try:
        response = to_response(app(request, *args, **kwargs), app)
    except Exception as exc:
        if not is_server_error(exc):
            raise
        return response_for_exception(request, exc)
    return scope.bind(response)


async def _acall(
    scope: Use, app: Callable, request: HttpRequest, args: tuple, kwargs: dict
) -> HttpResponseBase:
    try:
        response = to_response(await async_of(app)(request, *args, **kwargs), app)
    except Exception as exc:
        if not is_server_error(exc):
            raise
        return await in_worker(response_for_exception)(request, exc)
    return scope.bind(response)
