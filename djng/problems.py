"""``Problem``: a client error answered as an RFC 9457 problem, with what was wrong where;
``answers``: the problems a view declares for its OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import BadRequest

__all__ = ["Problem", "answers"]

F = TypeVar("F", bound=Callable[..., Any])


class Problem(BadRequest):
    """Answer ``status`` (a 4xx) with ``detail``, and ``errors``: each a
    ``{"loc": ..., "message": ...}`` naming where the request was wrong
    (``$.items[2].qty`` in the body, ``query.limit`` in the query string)."""

    def __init__(
        self, status: int, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        if not (isinstance(status, int) and 400 <= status < 500):
            raise ValueError(f"Problem(status=...) is a 4xx status, got {status!r}")
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []


def answers(*statuses: int) -> Callable[[F], F]:
    """Declare the problems a view may answer besides those its types imply
    (``@djng.answers(409)``), for its OpenAPI document (``djng.openapi``)."""
    for status in statuses:
        if not (isinstance(status, int) and 400 <= status < 600):
            raise ValueError(f"djng.answers() takes 4xx and 5xx statuses, got {status!r}")

    def declare(view: F) -> F:
        view.djng_answers = frozenset(statuses) | getattr(view, "djng_answers", frozenset())
        return view

    return declare
