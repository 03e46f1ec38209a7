"""``Problem``: a client error answered as an RFC 9457 problem, with what was wrong where."""

from __future__ import annotations

from django.core.exceptions import BadRequest

__all__ = ["Problem"]


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
