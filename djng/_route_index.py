"""The index that makes a Router's first-match-wins scan cheap.

A Router's routes are tried in order and the first that matches wins. The index
gives the same answer while trying fewer routes:

- a route whose pattern can only ever match one exact path (``'users/me'``,
  ``r'^hello$'``) is found with one dict lookup, after only the pattern routes
  defined before it that could also match;
- a pattern route whose first path segment is fixed (``'users/<int:id>'``,
  ``r'^users/(\\d+)$'``, ``mount('users', ...)``) can only match paths with that
  first segment, so a path is tried only against the routes of its first
  segment and the routes with no fixed first segment, in definition order.

``tests/test_fast_paths.py`` checks the index against a plain linear scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.urls.resolvers import RegexPattern, RoutePattern

__all__ = ["RouteIndex", "first_match", "literal_of", "segment_of"]

# ``^literal$`` regexes that can only ever match one exact path. The regexes
# here are compiled when first used (by re's cache), not at import.
_LITERAL_REGEX = r"\^((?:[\w/~,;:@!&=%-]|\\[./+-])*)(?:\$|\\Z)"
_UNESCAPE = r"\\(.)"
# A literal first segment, then a slash that no quantifier makes optional
# ('^users/', '^api\\.v1/(?P<x>..)') or mount()'s '(?=/|\\Z)'.
_SEGMENT_REGEX = r"\^((?:[\w~,;:@!&=%-]|\\[.+-])+)(?:/(?![?*+{])|\(\?=/\|\\Z\))"


def literal_of(pattern: RoutePattern | RegexPattern) -> str | None:
    """The one path ``pattern`` matches, or None when it can match several."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        return route if "<" not in route and not pattern.converters else None
    found = re.fullmatch(_LITERAL_REGEX, pattern.regex.pattern)
    return re.sub(_UNESCAPE, r"\1", found.group(1)) if found else None


def segment_of(pattern: RoutePattern | RegexPattern) -> str | None:
    """The fixed first segment of every path ``pattern`` matches, or None."""
    if isinstance(pattern, RoutePattern):
        head = str(pattern).partition("<")[0]  # literal text, escaped in the regex
        segment, slash, _ = head.partition("/")
        return segment if slash and segment else None
    regex = pattern.regex.pattern
    if "|" in regex.replace("(?=/|\\Z)", ""):
        return None  # an alternation could match without the prefix
    found = re.match(_SEGMENT_REGEX, regex)
    return re.sub(_UNESCAPE, r"\1", found.group(1)) if found else None


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


class RouteIndex:
    """Finds the route a Router's linear scan would find (see the module docstring)."""

    __slots__ = ("routes", "_by_literal", "_by_segment", "_wild")

    def __init__(self, routes: Sequence[Any]) -> None:
        self.routes = tuple(routes)
        dynamic = tuple(route for route in self.routes if route.literal is None)
        self._wild = tuple(route for route in dynamic if route.segment is None)
        segments = dict.fromkeys(r.segment for r in dynamic if r.segment is not None)
        self._by_segment = {
            segment: tuple(r for r in dynamic if r.segment in (None, segment))
            for segment in segments
        }
        self._by_literal: dict[str, tuple[Any, ...]] = {}
        for index, route in enumerate(self.routes):
            if route.literal is not None and route.literal not in self._by_literal:
                segment = route.literal.partition("/")[0]
                earlier = tuple(
                    r for r in self.routes[:index]
                    if r.literal is None and (r.segment is None or r.segment == segment)
                )
                self._by_literal[route.literal] = (*earlier, route)

    def find(self, path: str, method: str) -> tuple[Any | None, Any, set[str] | None]:
        """What :func:`first_match` over every route gives, for ``path`` without its
        leading slash."""
        candidates = self._by_literal.get(path)
        if candidates is None:
            routes = self._by_segment.get(path.partition("/")[0], self._wild)
            return first_match(routes, path, method)
        found = first_match(candidates, path, method)
        if found[0] is None:
            # Only a 405 for the literal route: later routes may still take the method.
            found = first_match(self.routes, path, method)
        return found
