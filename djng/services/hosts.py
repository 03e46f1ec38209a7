"""``djng.hosts``: the host names an app answers (what Django calls ``ALLOWED_HOSTS``).

A request whose ``Host`` is not one of them gets a 400 before the app runs,
logged to ``django.security.DisallowedHost``: otherwise absolute URLs (and so
password-reset links) would point wherever a client says. Names follow
Django's rules: ``'example.com'`` is that host, ``'.example.com'`` that host
and its subdomains, ``'*'`` any host (only behind a proxy that checks it).

The process default is ``DJNG_ALLOWED_HOSTS`` (comma-separated) when set,
else the loopback names only, as Django allows while debugging; starting an
app for production (``djng.wsgi()``, debugging off) with nothing configured
logs one warning. Requests from ``djng.testing.Client`` may also use its host,
``testserver``, as under Django's test runner.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import DisallowedHost
from django.utils.functional import lazy

from .stack import Service

__all__ = ["LOOPBACK", "allowed", "check_host", "hosts", "warn_if_unconfigured"]

#: Answered when nothing else is configured.
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")

#: The host of ``djng.testing.Client``'s requests.
TEST_CLIENT_HOST = "testserver"

# A host name, an IPv4 address or a bracketed IPv6 one, optionally with a leading
# dot (subdomains too), or '*'. Compiled on first use.
_NAME = r"\*|\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\]"

_logger = logging.getLogger("djng")
_embedded = False
_warned = False
#: The Host headers last found allowed, and the names (the very tuple in effect)
#: they were checked against: a request with the same Host skips Django's check.
_accepted: tuple[tuple[str, ...] | None, frozenset[str]] = (None, frozenset())
_ACCEPTED_LIMIT = 256


def _coerce(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Iterable):
        raise TypeError("Use a list of host names, or a comma-separated string")
    names = tuple(str(name).strip().lower() for name in value if str(name).strip())
    if not names:
        raise ValueError("djng.hosts needs at least one host name")
    for name in names:
        if not re.fullmatch(_NAME, name):
            raise ValueError(
                f"djng.hosts: {name!r} is not a host name; give names such as 'example.com' "
                "or '.example.com' (subdomains too), without scheme, port or path"
            )
    return names


def _default() -> tuple[str, ...]:
    global _embedded
    _embedded = True
    return LOOPBACK


class HostsService(Service[tuple]):
    def reset(self) -> None:
        global _embedded
        super().reset()
        _embedded = False


hosts = HostsService(
    "hosts",
    expects="host names such as ['example.com', '.example.com']",
    coerce=_coerce,
    default=_default,
    from_text=_coerce,
    environ=("DJNG_ALLOWED_HOSTS",),
    # Django reads ALLOWED_HOSTS on every get_host(): it follows the hosts in effect.
    django_settings={"ALLOWED_HOSTS": lazy(lambda: list(allowed()), list)()},
)


def allowed() -> tuple[str, ...]:
    """The host names the request being served may use: those in effect, and the test
    client's when one is in use."""
    names = hosts.current()
    clients = sys.modules.get("djng.test_client")
    if clients is not None and clients.in_use and TEST_CLIENT_HOST not in names:
        names = (*names, TEST_CLIENT_HOST)
    return names


def check_host(request: Any) -> None:
    """Raise ``DisallowedHost`` (a 400) unless ``request``'s host is allowed."""
    global _accepted
    names = hosts.current()
    raw = request.META.get("HTTP_HOST")
    checked_against, accepted = _accepted
    if checked_against is names and raw in accepted:
        return
    try:
        request.get_host()  # Django's own validation, against allowed() (ALLOWED_HOSTS)
    except DisallowedHost as exc:
        raise DisallowedHost(
            f"The host {_sent_host(request)!r} is not one this app answers. Add it to the "
            "DJNG_ALLOWED_HOSTS environment variable (comma-separated) or call "
            "djng.hosts.configure([...])."
        ) from exc
    if raw is not None:
        if checked_against is not names or len(accepted) >= _ACCEPTED_LIMIT:
            accepted = frozenset()
        _accepted = (names, accepted | {raw})


def _sent_host(request: Any) -> str:
    meta = request.META
    return meta.get("HTTP_HOST") or meta.get("SERVER_NAME", "")


def warn_if_unconfigured() -> None:
    """Log once if the process answers only the loopback names because nothing was said."""
    global _warned
    hosts.default()
    if _embedded and not _warned:
        _warned = True
        _logger.warning(
            "djng answers only requests for %s: no allowed hosts are configured. Set "
            "DJNG_ALLOWED_HOSTS=example.com (comma-separated) or call "
            "djng.hosts.configure(['example.com']) before djng.wsgi(app).",
            ", ".join(LOOPBACK),
        )
