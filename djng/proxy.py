"""Behind a proxy: which ``X-Forwarded-*`` headers to believe, and how many proxies set them.

A proxy in front (nginx, a load balancer) talks to the app itself, so the
scheme, host and client address the app sees are the proxy's unless it
believes the headers the proxy adds. Believing them when no proxy sets them
would let any client claim to be anyone, so nothing is trusted by default;
the opt-in names each header: ``djng.wsgi(app, trusted_proxy_headers=[...])``
or ``DJNG_TRUSTED_PROXY_HEADERS=X-Forwarded-Proto,X-Forwarded-For``.
``'X-Forwarded-For:2'`` trusts the last two proxies' values.

The request is rewritten before djng or Django look at it, by werkzeug's
``ProxyFix``: ``X-Forwarded-For`` becomes ``REMOTE_ADDR``, ``-Proto`` the scheme
(so ``request.is_secure()``, CSRF's HTTPS checks and secure cookies follow),
``-Host`` the host (still checked against ``djng.hosts``), ``-Port`` the port and
``-Prefix`` the ``SCRIPT_NAME``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["HEADERS", "ENVIRONMENT_VARIABLE", "environ_fixer"]

#: The headers that can be trusted, and the ProxyFix option of each.
HEADERS = {
    "x-forwarded-for": "x_for",
    "x-forwarded-proto": "x_proto",
    "x-forwarded-host": "x_host",
    "x-forwarded-port": "x_port",
    "x-forwarded-prefix": "x_prefix",
}

ENVIRONMENT_VARIABLE = "DJNG_TRUSTED_PROXY_HEADERS"

_NAMES = ", ".join(name.title() for name in HEADERS)


def environ_fixer(
    trusted: str | Iterable[str] | None = None,
) -> Callable[[dict], Any] | None:
    """A function that rewrites a WSGI environ from the trusted headers, or None.

    ``trusted`` names the headers (a list, or a comma-separated string); when it
    is None, ``DJNG_TRUSTED_PROXY_HEADERS`` does. Unknown names and hop counts
    below 1 fail at once, naming what is accepted.
    """
    if trusted is None:
        trusted = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if isinstance(trusted, str):
        trusted = trusted.split(",")
    options = dict.fromkeys(HEADERS.values(), 0)  # ProxyFix trusts some by default: none here
    for entry in trusted:
        name, _, hops = str(entry).strip().partition(":")
        if not name:
            continue
        option = HEADERS.get(name.lower())
        if option is None:
            raise ValueError(
                f"djng cannot trust the proxy header {name!r}; it trusts {_NAMES} "
                f"(in trusted_proxy_headers or {ENVIRONMENT_VARIABLE})"
            )
        try:
            count = int(hops) if hops else 1
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(
                f"The proxy header {entry.strip()!r}: after ':' give how many proxies set it "
                "(hops), a whole number from 1"
            )
        options[option] = count
    if not any(options.values()):
        return None
    from werkzeug.middleware.proxy_fix import ProxyFix

    fix = ProxyFix(_environ_only, **options)
    return lambda environ: fix(environ, None)


def _environ_only(environ: dict, start_response: Any) -> None:
    """The 'app' behind ProxyFix: it only wants ProxyFix to rewrite the environ."""
    return None
