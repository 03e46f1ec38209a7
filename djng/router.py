"""``Router``: a view that picks another view from ``request.path_info``.

Routes use Django's own pattern classes (``RoutePattern`` for ``path()``,
``RegexPattern`` for regexes), so converters, ``reverse()`` and ``{% url %}``
behave as in Django. A route whose target has a URL dispatcher inside (another
Router, the admin), or a ``mount()``, matches a prefix and hands the rest of the
path on: the inner app sees the rest in ``request.path_info`` and the prefix in
``request.script_name``.

A Router is a :class:`~djng.layers.Dispatcher`: ``match()`` finds the route
(through the index in ``djng._route_index``) and ``dispatch()`` calls it, every
endpoint through the view path (``djng.handler.call_endpoint``).
:class:`DjangoURLs` is the same protocol over Django's own resolver.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import get_urlconf
from django.urls.resolvers import RegexPattern, RoutePattern, URLPattern, URLResolver

from . import location
from ._route_index import RouteIndex, literal_of, prefix_of
from .handler import NO_KWARGS, acall_endpoint, acaller, call_endpoint
from .layers import Dispatcher, async_of, declare_async, router_of
from .responses import error_response, to_response
from .typed import typed
from .websocket import WebSocketEndpoint

__all__ = [
    "METHODS", "DjangoURLs", "Route", "Router", "mount", "path", "re_path", "reverse",
    "websocket",
]

# A parameter of Django's path syntax, '<name>' or '<converter:name>' (compiled when used).
_PARAMETER = r"<(?:[^<>:]+:)?[^<>]+>"

#: The request methods a route may name.
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"}
)


class Route:
    """One routing rule. Build it with :func:`path`, :func:`re_path` or :func:`mount`."""

    __slots__ = (
        "source", "pattern", "reverse_pattern", "view", "views", "name", "methods", "is_mount",
        "router", "literal", "prefix", "mount_prefix", "openapi",
    )

    def __init__(
        self,
        source: str,
        pattern: RoutePattern | RegexPattern,
        view: Any,
        name: str | None,
        methods: Iterable[str] | None,
        is_mount: bool,
    ) -> None:
        self.source = source
        self.pattern = pattern
        #: The pattern Django's reverse() and resolve() see (mount() differs).
        self.reverse_pattern = pattern
        self.name = name
        self.is_mount = is_mount
        self.views: dict[str, Callable] | None = None
        if isinstance(view, Mapping):
            if methods is not None:
                raise ValueError(f"{source}: give methods= or a dict view, not both")
            self.views = {
                _method(m, source): typed(_callable(v, source), _path_names(pattern, v), source)
                for m, v in view.items()
            }
            if not self.views:
                raise ValueError(f"{source}: the dict view names no method")
            if "GET" in self.views:
                self.views.setdefault("HEAD", self.views["GET"])
            methods = self.views
            self.view = _dispatcher(self.views)
        elif is_mount:
            self.view = _callable(view, source)
        else:
            self.view = typed(_callable(view, source), _path_names(pattern, view), source)
        #: The URL dispatcher inside a mounted app (None for an endpoint).
        self.router = router_of(self.view) if is_mount else None
        self.methods = None if methods is None else _methods(methods, source)
        try:
            _ = pattern.regex  # compile now, so that a bad route fails at definition
        except (ImproperlyConfigured, re.error) as exc:
            raise ValueError(f"{source}: {exc}") from None
        self.literal = None if is_mount else literal_of(pattern)
        #: The leading path segments every path this route matches starts with.
        self.prefix = prefix_of(pattern)
        #: mount()'s prefix, matched without a regex (None for other routes).
        self.mount_prefix: str | None = None
        #: Whether ``djng.openapi`` documents the route (``openapi=False`` leaves it out).
        self.openapi = True

    @property
    def segment(self) -> str | None:
        """The first path segment every path this route matches starts with, if fixed."""
        return self.prefix[0] if self.prefix else None

    @classmethod
    def mount(cls, prefix: str, app: Callable, methods: Iterable[str] | None = None) -> Route:
        """A route handing every path under ``prefix`` to ``app`` (see :func:`mount`)."""
        if not isinstance(prefix, str):
            raise TypeError(f"djng.mount({prefix!r}, ...): the prefix must be a string")
        literal = prefix.strip("/")
        regex = "^" + re.escape(literal) + r"(?=/|\Z)" if literal else "^"
        route = cls(
            f"djng.mount({prefix!r})", RegexPattern(regex, is_endpoint=False), app, None,
            methods, is_mount=True,
        )
        # Matching uses a lookahead so that '/api' and '/api/x' match but '/apiary'
        # does not (match() does the same without the regex); reversing needs the
        # prefix with its slash.
        route.reverse_pattern = RegexPattern("^" + re.escape(literal) + "/" if literal else "^")
        route.mount_prefix = literal
        return route

    def match(self, path: str) -> tuple[str, tuple, dict] | None:
        """``(rest, args, kwargs)`` if this route matches ``path``, else None."""
        if self.literal is not None:
            return ("", (), {}) if path == self.literal else None
        prefix = self.mount_prefix
        if prefix is not None:
            if path.startswith(prefix) and (
                len(path) == len(prefix) or path[len(prefix)] == "/" or not prefix
            ):
                return path[len(prefix):], (), NO_KWARGS
            return None
        return self.pattern.match(path)

    def __repr__(self) -> str:
        return self.source


def _path_names(pattern: RoutePattern | RegexPattern, view: Any) -> Iterable[str]:
    """The names of the arguments the route's pattern captures."""
    if isinstance(pattern, RoutePattern):
        return pattern.converters.keys()
    # A RegexPattern has converters too (always empty): its names are its named groups.
    try:
        regex = pattern.regex
    except (ImproperlyConfigured, re.error):
        return ()  # a bad regex: Route says so, once the view is wrapped
    if regex.groupindex or not regex.groups:
        return regex.groupindex.keys()
    # Unnamed groups are passed by position (as Django does): the first parameters.
    try:
        return list(inspect.signature(view).parameters)[1:1 + regex.groups]
    except (TypeError, ValueError):
        return ()


def path(
    route: str, view: Any, name: str | None = None, methods: Iterable[str] | None = None,
    *, openapi: bool = True,
) -> Route:
    """A route in Django's path syntax: ``path('users/<int:id>', view)``; ``openapi=False``
    leaves it out of ``djng.openapi``'s document."""
    source = _source("path", route)
    is_mount = router_of(view) is not None
    pattern = _route_pattern(route, name, source, is_endpoint=not is_mount)
    return _documented(Route(source, pattern, view, name, methods, is_mount), openapi)


def websocket(
    route: str, handler: Callable[..., Awaitable[None]], name: str | None = None
) -> Route:
    """A websocket route under ``djng.asgi``, in ``path()``'s syntax:
    ``websocket('ws/tasks/<int:id>', handler)``, ``async def handler(ws, id)``.

    The handler gets a :class:`djng.websocket.WebSocket` and the path's arguments;
    the layers around the route (``reconfigure``, ``sessions``, ``auth``...) apply
    to the whole connection. An HTTP request to the route is answered 426 Upgrade
    Required (as is any request under WSGI, which cannot serve websockets).
    """
    source = _source("websocket", route)
    pattern = _route_pattern(route, name, source, is_endpoint=True)
    endpoint = WebSocketEndpoint(handler, source)
    return _documented(Route(source, pattern, endpoint, name, None, is_mount=False), False)


def _source(function: str, route: Any) -> str:
    if not isinstance(route, str):
        raise TypeError(f"djng.{function}({route!r}, ...): the route must be a string")
    return f"djng.{function}({route!r})"


def _route_pattern(route: str, name: str | None, source: str, is_endpoint: bool) -> RoutePattern:
    """The pattern of a route in Django's path syntax, checked now."""
    if re.search(r"[<>]", re.sub(_PARAMETER, "", route)):
        raise ValueError(
            f"{source}: a '<' or '>' that is not part of a parameter; write parameters "
            "whole, such as <int:id> or <slug>"
        )
    try:
        return RoutePattern(route.lstrip("/"), name=name, is_endpoint=is_endpoint)
    except ImproperlyConfigured as exc:  # an unknown converter
        raise ValueError(f"{source}: {exc}") from None


def _documented(route: Route, openapi: bool) -> Route:
    route.openapi = bool(openapi)
    return route


def re_path(
    regex: str, view: Any, name: str | None = None, methods: Iterable[str] | None = None
) -> Route:
    """A route as a regular expression, matched against the path without its leading slash."""
    if not isinstance(regex, str):
        raise TypeError(f"djng.re_path({regex!r}, ...): the regex must be a string")
    source = f"route {regex!r}"
    is_mount = router_of(view) is not None
    pattern = RegexPattern(regex, name=name, is_endpoint=not is_mount)
    return Route(source, pattern, view, name, methods, is_mount)


def mount(
    prefix: str, app: Any, methods: Iterable[str] | None = None, *, openapi: bool = True
) -> Route:
    """Hand every path under ``prefix`` to ``app``.

    ``app`` is a djng app (a view, a Router, ``from_wsgi(...)``), or anything
    Django's ``include()`` takes: a list of ``path()``/``re_path()`` patterns, a
    module with ``urlpatterns`` (or its dotted name), a ``(patterns, app_name)``
    pair, ``include(...)``'s result, or an object with ``.urls`` (django-ninja's
    ``NinjaAPI``, a Django REST framework router). Those are served with Django's
    resolver (:class:`DjangoURLs`), their namespaces reverse from inside and
    outside the mount, and their views are endpoints like any other (CSRF,
    middleware view hooks and ``djng.reconfigure`` apply).
    """
    return _documented(
        Route.mount(prefix, _as_app(app, f"djng.mount({prefix!r}, ...)"), methods), openapi
    )


def _as_app(target: Any, source: str) -> Any:
    """The djng app for what :func:`mount` was given."""
    if callable(target) and not hasattr(target, "urls"):
        return target
    urls = getattr(target, "urls", target)
    if isinstance(urls, tuple) and len(urls) == 3 and isinstance(urls[1], (str, type(None))):
        # (patterns, app_name, namespace), as include() and NinjaAPI.urls give it
        patterns, app_name, namespace = urls
    elif isinstance(urls, (list, tuple, str)) or hasattr(urls, "urlpatterns"):
        from django.urls import include

        try:
            patterns, app_name, namespace = include(urls)
        except ImproperlyConfigured as exc:
            raise ValueError(f"{source}: {exc}") from None
        except ImportError as exc:
            raise ImportError(f"{source}: {exc}", name=exc.name) from None
    else:
        raise TypeError(
            f"{source}: {target!r} is neither a view nor Django URL patterns; give a view, a "
            "Router, from_wsgi(app), a list of path()s, a urls module or an object with .urls"
        )
    return DjangoURLs(patterns, app_name=app_name, namespace=namespace)


class Router(Dispatcher):
    """A view that dispatches on the path; routes are tried in order.

    Routes are ``(regex, view)`` or ``(regex, view, name)`` tuples, or what
    :func:`path`, :func:`re_path` and :func:`mount` return. A view may be a dict
    of views by method. A path that exists with other methods answers 405 with an
    ``Allow`` header; no match raises ``Http404``.
    """

    def __init__(self, *routes: Route | tuple) -> None:
        #: The module that built this Router, where its app lives (``djng.location``).
        self.__module__ = location.defining_module()
        self.routes: tuple[Route, ...] = tuple(
            _as_route(route, index) for index, route in enumerate(routes)
        )
        names: dict[str, int] = {}
        for index, route in enumerate(self.routes):
            if route.name is None:
                continue
            if route.name in names:
                raise ValueError(
                    f"Router: the name {route.name!r} is used by routes {names[route.name]} "
                    f"({self.routes[names[route.name]]}) and {index} ({route}); names must "
                    "be unique within one Router"
                )
            names[route.name] = index
        #: Django URL patterns for reverse(), {% url %} and resolve().
        self.urlpatterns = [_django_pattern(route) for route in self.routes]
        self._index = RouteIndex(self.routes)
        self._plain_mounts = _plain_mounts(self.routes)
        declare_async(self, self.acall if any(map(_has_async, self.routes)) else None)
        hooks = [hook for route in self.routes for hook in getattr(route.view, "djng_lifespan", ())]
        if hooks:  # the start-up and shutdown of the apps it mounts (djng.lifespan)
            self.djng_lifespan = tuple(dict.fromkeys(hooks))

    def match(self, path: str, method: str) -> tuple[Route | None, Any, set[str] | None]:
        """Which route answers ``path`` (without its leading slash) for ``method``.

        ``(route, (rest, args, kwargs), None)`` for the first route that matches;
        ``(None, None, allowed)`` when none does, ``allowed`` being the methods of
        the routes that match the path with another method (None: no route does).
        """
        return self._index.find(path, method)

    def dispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        found = self._find(request, kwargs)
        if not isinstance(found, tuple):
            return found  # 405
        call, target, prefixes, rest, args, route_kwargs = found
        if not prefixes:
            return call(request, target, args, route_kwargs)
        saved = _enter_under(request, prefixes, rest)
        try:
            return call(request, target, args, route_kwargs)
        finally:
            _leave_under(request, saved)

    async def adispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        """:meth:`dispatch` on the async path: routing on the loop, an async endpoint
        awaited there, a sync one on the request's worker thread."""
        found = self._find(request, kwargs)
        if not isinstance(found, tuple):
            return found
        call, target, prefixes, rest, args, route_kwargs = found
        acall = _acall_mounted if call is _call_mounted else acall_endpoint
        if not prefixes:
            return await acall(request, target, args, route_kwargs)
        saved = _enter_under(request, prefixes, rest)
        try:
            return await acall(request, target, args, route_kwargs)
        finally:
            _leave_under(request, saved)

    def _find(self, request: HttpRequest, kwargs: dict) -> tuple | HttpResponse:
        """What answers ``request``: ``(call, target, prefixes, rest, args, kwargs)``
        (``call`` is :func:`call_endpoint` for a view, :func:`_call_mounted` for a
        mounted app; ``prefixes`` the matched mount prefixes, ``rest`` the path
        under them), a 405 response, or ``Http404``."""
        path_info = request.path_info
        path = path_info[1:] if path_info[:1] == "/" else path_info
        method = request.method
        router: Router = self
        prefixes: list[str] = []  # the prefixes of the plain Routers passed through
        while True:
            if router._plain_mounts:
                segment, _, tail = path.partition("/")
                inner = router._plain_mounts.get(segment)
                if inner is not None:  # the route that must take this path: no matching
                    prefixes.append(segment)
                    router, path = inner, tail
                    continue
            route, match, allowed = router._index.find(path, method)  # noqa: SLF001 - a Router
            if route is None:
                if allowed:
                    return _not_allowed(request, allowed)
                raise Http404(f"No route matches {request.path}")
            rest, route_args, route_kwargs = match
            if kwargs:
                route_kwargs = {**kwargs, **route_kwargs}
            if not route.is_mount:
                view = route.view if route.views is None else route.views[method]
                return call_endpoint, view, prefixes, "/" + path, route_args, route_kwargs
            prefixes.append(path[: len(path) - len(rest)].rstrip("/"))
            inner = route.router
            if type(inner) is not Router or route.view is not inner:
                return _call_mounted, route, prefixes, rest, (), route_kwargs
            # A plain Router mounted in this one: route in it without touching the
            # request, which is set once for the endpoint at the end.
            router, kwargs = inner, route_kwargs
            path = rest[1:] if rest[:1] == "/" else rest

    def reverse(
        self, name: str, args: Iterable | None = None, kwargs: Mapping | None = None
    ) -> str:
        """The URL of the route called ``name`` in this Router (or one mounted in it)."""
        return reverse(name, args=args, kwargs=kwargs, router=self)

    def __repr__(self) -> str:
        return f"<Router {', '.join(map(repr, self.routes))}>"


class DjangoURLs(Dispatcher):
    """Django URL patterns served with Django's own resolver, as a djng app.

    ``patterns`` is a list of ``path()``/``re_path()`` patterns or a module with
    ``urlpatterns``; ``app_name`` and ``namespace`` name them for
    ``reverse('namespace:name')``. ``djng.mount()`` builds one from anything
    Django's ``include()`` takes. The endpoint Django resolves is called
    through djng's view path, so middleware view hooks run around it.
    """

    def __init__(
        self, patterns: Any, *, app_name: str | None = None, namespace: str | None = None
    ) -> None:
        self.__module__ = location.defining_module()
        #: What reverse() sees: the patterns, in their namespace if they have one.
        self.urlpatterns = [
            URLResolver(RegexPattern(r"^"), patterns, app_name=app_name, namespace=namespace)
        ]
        self._resolver = URLResolver(RegexPattern(r"^/"), self.urlpatterns)
        declare_async(self, self.acall if _any_async_view(self.urlpatterns) else None)

    def dispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        match, route_kwargs = self._resolve(request, kwargs)
        return call_endpoint(request, match.func, match.args, route_kwargs)

    async def adispatch(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        match, route_kwargs = self._resolve(request, kwargs)
        return await acall_endpoint(request, match.func, match.args, route_kwargs)

    def _resolve(self, request: HttpRequest, kwargs: dict) -> tuple[Any, dict]:
        match = self._resolver.resolve(request.path_info)  # Resolver404 is a 404
        request.resolver_match = match
        return match, ({**kwargs, **match.kwargs} if kwargs else match.kwargs)

    def __repr__(self) -> str:
        resolver = self.urlpatterns[0]
        return f"<DjangoURLs {resolver.namespace or ''} {resolver.url_patterns!r}>"


def reverse(
    name: str,
    args: Iterable | None = None,
    kwargs: Mapping | None = None,
    *,
    router: Any = None,
) -> str:
    """The URL of a named route of the Router serving the current request (or of
    ``router``: a Router, or an app with one inside, such as a reconfigured one)."""
    from django.urls import NoReverseMatch
    from django.urls import reverse as django_reverse

    urlconf = get_urlconf() if router is None else router_of(router)
    if router is not None and urlconf is None:
        raise TypeError(f"djng.reverse(router=...): {router!r} has no Router inside")
    if urlconf is None:
        raise NoReverseMatch(
            f"Cannot reverse {name!r}: no djng Router is serving the current request. "
            "Call djng.reverse() while a request is being served, or pass router=..."
        )
    return django_reverse(name, urlconf=urlconf, args=args, kwargs=kwargs)


# -- helpers ---------------------------------------------------------------------


def _not_allowed(request: HttpRequest, allowed: set[str]) -> HttpResponse:
    allow = ", ".join(sorted(allowed | {"OPTIONS"}))
    if request.method == "OPTIONS":
        response = HttpResponse(status=200)
    else:
        response = error_response(
            request, 405, f"{request.method} is not allowed for {request.path}; use {allow}."
        )
    response["Allow"] = allow
    return response


def _enter_under(request: HttpRequest, prefixes: list[str], rest: str) -> tuple:
    """Move the matched ``prefixes`` from PATH_INFO to SCRIPT_NAME: the app called
    next sees the rest in ``request.path_info``. Returns what :func:`_leave_under`
    puts back."""
    meta = request.META
    saved = request.path_info, meta.get("SCRIPT_NAME", ""), meta.get("PATH_INFO", "")
    inner_path = rest if rest[:1] == "/" else "/" + rest
    request.path_info = inner_path
    prefix = "/".join([p for p in prefixes if p])
    if prefix:
        meta["SCRIPT_NAME"] = saved[1].rstrip("/") + "/" + _to_wsgi(prefix)
    meta["PATH_INFO"] = _to_wsgi(inner_path)
    return saved


def _leave_under(request: HttpRequest, saved: tuple) -> None:
    request.path_info, request.META["SCRIPT_NAME"], request.META["PATH_INFO"] = saved


def _call_mounted(
    request: HttpRequest, route: Route, args: tuple, kwargs: dict
) -> HttpResponseBase:
    """Call a mounted app that is not a plain Router (the request is set for it)."""
    app, router = route.view, route.router
    if router is None:
        return call_endpoint(request, app, args, kwargs)
    if app is router and type(app).__call__ is Dispatcher.__call__:
        return router.dispatch(request, **kwargs)  # the urlconf is the outer Router
    return to_response(app(request, *args, **kwargs), app)


async def _acall_mounted(
    request: HttpRequest, route: Route, args: tuple, kwargs: dict
) -> HttpResponseBase:
    """:func:`_call_mounted` on the async path."""
    app, router = route.view, route.router
    if router is None:
        return await acall_endpoint(request, app, args, kwargs)
    if app is router and type(app).__call__ is Dispatcher.__call__ and async_of(app):
        return await router.adispatch(request, **kwargs)
    return await acaller(app)(request, args, kwargs)


def _to_wsgi(text: str) -> str:
    """A decoded path back in the WSGI environ's bytes-as-latin-1 form."""
    return text if text.isascii() else text.encode("utf-8").decode("iso-8859-1")


def _plain_mounts(routes: tuple[Route, ...]) -> dict[str, Router]:
    """For a first path segment, the plain Router mounted there that must take every
    path starting with it: no earlier route could match such a path, it names no
    methods and captures nothing. The dispatch then skips matching for it, so
    nesting Routers costs a dict lookup a level."""
    found: dict[str, Router] = {}
    taken: set[str] = set()  # segments an earlier route could also match
    for route in routes:
        prefix = route.mount_prefix
        inner = route.router
        if (
            prefix and "/" not in prefix and prefix not in taken and route.methods is None
            and type(inner) is Router and route.view is inner
        ):
            found[prefix] = inner
        if route.literal is not None:
            taken.add(route.literal.partition("/")[0])
        elif route.segment is None:
            break  # this route could match any first segment: none after it is sure
        else:
            taken.add(route.segment)
    return found


def _as_route(route: Any, index: int) -> Route:
    if isinstance(route, Route):
        return route
    if isinstance(route, tuple) and len(route) in (2, 3) and isinstance(route[0], str):
        return re_path(*route)
    raise TypeError(
        f"Router: route {index} is {route!r}; give a (regex, view) or (regex, view, name) "
        "tuple, or use djng.path(), djng.re_path() or djng.mount()"
    )


def _django_pattern(route: Route) -> URLPattern | URLResolver:
    if route.router is None:
        return URLPattern(route.reverse_pattern, route.view, name=route.name)
    return URLResolver(route.reverse_pattern, route.router)


def _callable(view: Any, source: str) -> Callable:
    if not callable(view):
        raise TypeError(f"{source}: the target {view!r} is not callable; give a view")
    return view


def _method(method: Any, source: str) -> str:
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(
            f"{source}: unknown method {method!r}; use one of {', '.join(sorted(METHODS))}"
        )
    return method.upper()


def _methods(methods: Iterable[str], source: str) -> frozenset[str]:
    if isinstance(methods, str):
        raise TypeError(f"{source}: methods must be a list such as ['GET', 'POST']")
    names = {_method(m, source) for m in methods}
    if "GET" in names:
        names.add("HEAD")
    return frozenset(names)


def _dispatcher(views: dict[str, Callable]) -> Callable:
    """One callable for a dict view, for Django's resolve() and for direct calls."""

    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        view = views.get(request.method)
        if view is None:
            return _not_allowed(request, set(views))
        return to_response(view(request, *args, **kwargs), view)

    async def adispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        view = views.get(request.method)
        if view is None:
            return _not_allowed(request, set(views))
        return await acall_endpoint(request, view, args, kwargs)

    return declare_async(dispatch, adispatch if any(map(async_of, views.values())) else None)


def _any_async_view(patterns: Any) -> bool:
    """Whether Django URL patterns (resolvers included) reach an async view."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if _any_async_view(pattern.url_patterns):
                return True
        elif async_of(pattern.callback) is not None:
            return True
    return False


def _has_async(route: Route) -> bool:
    """Whether ``route`` reaches an async view (its Router then has an async twin)."""
    return async_of(route.view) is not None
