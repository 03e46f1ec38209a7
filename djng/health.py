"""``health(checks=[...])``: a view that reports whether each service can be reached.

Mount it where your load balancer probes (``djng.path('health', djng.health())``):
it answers 200 with a JSON report when every check passes and 503 when one fails,
naming which. Checks run against the services in effect for the request, so a
reconfigured subtree's health view checks that subtree's backends. What went
wrong (which often names internal hosts and ports) is logged to the ``djng.health``
logger, and shown only to the audience ``details`` allows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, JsonResponse

from .services import SERVICES
from .services._url import redact_within

__all__ = ["CHECKS", "health"]

_logger = logging.getLogger("djng.health")

#: The health check of each service that has one, by the service's name.
CHECKS: dict[str, Callable[[], Any]] = {
    name: service.health_check for name, service in SERVICES.items() if service.health_check
}


def health(
    checks: Iterable[str | Callable[[], Any] | tuple[str, Callable]] = ("db", "cache"),
    *,
    details: bool | Callable[[HttpRequest], bool] = False,
) -> Callable[[HttpRequest], JsonResponse]:
    """A view reporting each check as ``{"ok": bool, "ms": float}``.

    ``checks`` are names of services (``'db'``, ``'cache'``, ``'mail'``,
    ``'storage'``), functions (named by ``__name__``) or ``(name, function)``
    pairs; a function fails by raising or returning False. A failure is logged
    with its error (passwords in URLs hidden); the error is also in the answer
    (``"error": "..."``) when ``details`` is True, or a function of the request
    that returns True (``details=lambda request: request.user.is_staff``).
    """
    named = [_named(check) for check in checks]
    if not named:
        raise TypeError("djng.health(checks=[...]) needs at least one check")
    if not (isinstance(details, bool) or callable(details)):
        raise TypeError("djng.health(details=...) takes True, False or a function of the request")

    def view(request: HttpRequest) -> JsonResponse:
        show = details(request) if callable(details) else details
        report: dict[str, dict[str, Any]] = {}
        for name, check in named:
            start = time.perf_counter()
            try:
                ok = check() is not False
                error = None if ok else "the check returned False"
            except Exception as exc:
                ok, error = False, _describe(exc)
            entry: dict[str, Any] = {"ok": ok, "ms": round((time.perf_counter() - start) * 1000, 2)}
            if error:
                _logger.warning("health check %r failed: %s", name, error)
                if show:
                    entry["error"] = error
            report[name] = entry
        healthy = all(entry["ok"] for entry in report.values())
        response = JsonResponse(
            {"status": "ok" if healthy else "unavailable", "checks": report},
            status=200 if healthy else 503,
        )
        response["Cache-Control"] = "no-store"
        return response

    return view


def _named(check: Any) -> tuple[str, Callable]:
    if isinstance(check, str):
        try:
            return check, CHECKS[check]
        except KeyError:
            raise ValueError(
                f"djng.health: unknown check {check!r}; use one of {', '.join(CHECKS)} "
                "or a function"
            ) from None
    if isinstance(check, tuple) and len(check) == 2 and callable(check[1]):
        return str(check[0]), check[1]
    if callable(check):
        return getattr(check, "__name__", repr(check)), check
    raise TypeError(f"djng.health: a check must be a name or a function, got {check!r}")


def _describe(exc: Exception) -> str:
    return redact_within(f"{type(exc).__name__}: {exc}")[:500]
