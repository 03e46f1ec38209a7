"""The index that makes a Router's first-match-wins scan cheap.

A Router's routes are tried in order and the first that matches wins. The index
gives the same answer while trying only routes that can match:

- a route whose pattern can only ever match one exact path (``'users/me'``,
  ``r'^hello$'``) is found with one dict lookup, after only the pattern routes
  defined before it that could also match;
- a pattern route whose leading path segments are fixed (``'api/users/<int:id>'``,
  ``r'^api/users/(\\d+)$'``, ``mount('api/v2', ...)``) can only match paths that
  begin with those segments. The routes sit in a tree keyed by those segments; a
  path walks it segment by segment, and the routes worth trying are those of the
  deepest node it reaches and of the nodes above it, in definition order (worked
  out once, per node, when the Router is built).

So a thousand routes under one ``api/`` prefix cost about what one does.
``tests/test_fast_paths.py`` checks the index against a plain linear scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.urls.resolvers import RegexPattern, RoutePattern

__all__ = ["RouteIndex", "first_match", "literal_of", "prefix_of"]

# The regexes here are compiled when first used (by re's cache), not at import.
# ``^literal$`` regexes that can only ever match one exact path.
_LITERAL_REGEX = r"\^((?:[\w/~,;:@!&=%-]|\\[./+-])*)(?:\$|\\Z)"
_UNESCAPE = r"\\(.)"
# One literal path segment at the start of what is left of a regex, then a slash
# that no quantifier makes optional, or mount()'s lookahead '(?=/|\\Z)'.
_SEGMENT = r"((?:[\w~,;:@!&=%-]|\\[.+-])+)(/(?![?*+{])|\(\?=/\|\\Z\))"
_MOUNT_END = "(?=/|\\Z)"


def literal_of(pattern: RoutePattern | RegexPattern) -> str | None:
    """The one path ``pattern`` matches, or None when it can match several."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        return route if "<" not in route and not pattern.converters else None
    found = re.fullmatch(_LITERAL_REGEX, pattern.regex.pattern)
    return re.sub(_UNESCAPE, r"\1", found.group(1)) if found else None


def prefix_of(pattern: RoutePattern | RegexPattern) -> tuple[str, ...]:
    """The fixed leading segments of every path ``pattern`` matches (maybe none).

    A segment counts when a ``/`` (or the end of the path, for a mount) is sure
    to follow it: ``'users/<int:id>'`` -> ``('users',)``, ``'users<int:id>'`` -> ``()``.
    """
    if isinstance(pattern, RoutePattern):
        head = str(pattern).partition("<")[0]  # literal text, escaped in the regex
        return tuple(head.split("/")[:-1])
    regex = pattern.regex.pattern
    if not regex.startswith("^") or "|" in regex.replace(_MOUNT_END, ""):
        return ()  # an alternation could match without the prefix
    segments: list[str] = []
    position = 1
    while found := re.compile(_SEGMENT).match(regex, position):
        segments.append(re.sub(_UNESCAPE, r"\1", found.group(1)))
        if found.group(2) != "/":
            break  # mount()'s lookahead ends the prefix
        position = found.end()
    return tuple(segments)


def first_match(
    routes: Iterable[Any], path: str, method: str
) -> tuple[Any | None, Any, set[str] | None]:
    """``(route, match, None)`` for the first route that matches ``path`` and ``method``;
    ``(None, None, allowed)`` when none does, ``allowed`` being the methods of the
    routes that matched the path (None if no route matched it)."""
    allowed: set[str] | None = None
    for route in routes:
        match = route.match(path)
        if match is None:
            continue
        methods = route.methods
        if methods is None or method in methods:
            return route, match, None
        allowed = set(methods) if allowed is None else allowed | methods
    return None, None, allowed


class _Node:
    """One segment of the tree: the routes worth trying for a path that reaches it."""

    __slots__ = ("children", "own", "routes")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.own: list[tuple[int, Any]] = []  # (position, route) of routes ending here
        self.routes: tuple[Any, ...] = ()


def _fill(node: _Node, above: list[tuple[int, Any]]) -> None:
    """Give ``node`` its own routes and those of the nodes above it, in definition order."""
    merged = sorted([*above, *node.own], key=lambda pair: pair[0])
    node.routes = tuple(route for _, route in merged)
    for child in node.children.values():
        _fill(child, merged)


class RouteIndex:
    """Finds the route a Router's linear scan would find (see the module docstring)."""

    __slots__ = ("routes", "_by_literal", "_root", "_depth")

    def __init__(self, routes: Sequence[Any]) -> None:
        self.routes = tuple(routes)
        self._root = _Node()
        self._depth = 0
        for position, route in enumerate(self.routes):
            if route.literal is None:
                node = self._root
                for segment in route.prefix:
                    node = node.children.setdefault(segment, _Node())
                node.own.append((position, route))
                self._depth = max(self._depth, len(route.prefix))
        _fill(self._root, [])
        self._by_literal: dict[str, tuple[Any, ...]] = {}
        for index, route in enumerate(self.routes):
            if route.literal is not None and route.literal not in self._by_literal:
                segments = tuple(route.literal.split("/"))
                earlier = tuple(
                    r for r in self.routes[:index]
                    if r.literal is None and segments[: len(r.prefix)] == r.prefix
                )
                self._by_literal[route.literal] = (*earlier, route)

    def find(self, path: str, method: str) -> tuple[Any | None, Any, set[str] | None]:
        """What :func:`first_match` over every route gives, for ``path`` without its
        leading slash."""
        candidates = self._by_literal.get(path)
        if candidates is None:
            node = self._root
            depth = self._depth
            if depth == 1:
                node = node.children.get(path.partition("/")[0], node)
            elif depth:
                for segment in path.split("/", depth)[:depth]:
                    child = node.children.get(segment)
                    if child is None:
                        break
                    node = child
            routes = node.routes
            if len(routes) == 1:  # the common case, without the loop
                route = routes[0]
                match = route.match(path)
                if match is not None:
                    methods = route.methods
                    if methods is None or method in methods:
                        return route, match, None
                    return None, None, set(methods)
                return None, None, None
            return first_match(routes, path, method)
        found = first_match(candidates, path, method)
        if found[0] is None:
            # Only a 405 for the literal route: later routes may still take the method.
            found = first_match(self.routes, path, method)
        return found
