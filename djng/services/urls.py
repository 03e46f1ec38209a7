"""Backends from URLs, twelve-factor style.

``djng.cache.configure('redis://...')``, ``djng.db.configure('postgres://...')``
and ``djng.mail.configure('smtp://user:pass@host:587?tls=1')`` all come through
here, as do the ``DJNG_CACHE_URL``, ``DJNG_DATABASE_URL`` (or ``DATABASE_URL``)
and ``DJNG_EMAIL_URL`` environment variables. A URL that cannot be used fails at
once with a message naming the part that is wrong, and never shows the password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

__all__ = [
    "ENVIRONMENT",
    "cache_from_url",
    "database_from_url",
    "mail_from_url",
    "parse_database_url",
    "redact",
]

DATABASE_ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "sqlite3": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}
CACHE_SCHEMES = ("redis", "rediss", "unix", "locmem", "file", "dummy")
MAIL_SCHEMES = ("smtp", "smtps", "console", "file", "memory")


_USERINFO = r"(?s)^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:).*@"  # compiled on first use


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``.

    Everything up to the last ``@`` counts as the password, so a password with an
    unencoded ``/``, ``?`` or ``@`` is hidden too (at worst more is hidden).
    """
    return re.sub(_USERINFO, r"\1***@", url)


def _split(url: str, what: str, schemes: tuple[str, ...]) -> tuple[SplitResult, dict[str, str]]:
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(
            f"{what} URL {redact(str(url))!r} has no scheme; it should look like "
            f"{schemes[0]}://..."
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise ValueError(
            f"Unsupported {what} URL scheme '{scheme}://' in {redact(url)!r}; use one of: "
            + ", ".join(f"{s}://" for s in schemes)
        )
    try:
        if not scheme.startswith("sqlite"):  # sqlite://:memory: has no port
            parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(
            f"The port in {what} URL {redact(url)!r} is not a number from 0 to 65535 (if the "
            "password has / ? # or @ in it, percent-encode them)"
        ) from None
    return parts, dict(parse_qsl(parts.query, keep_blank_values=True))


def _flag(query: dict[str, str], name: str, url: str, what: str) -> bool:
    value = query.pop(name, "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"The option {name}={value!r} in {what} URL {redact(url)!r} must be 1 or 0")


def _number(query: dict[str, str], name: str, url: str, what: str) -> float | None:
    value = query.pop(name, None)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"The option {name}={value!r} in {what} URL {redact(url)!r} must be a number"
        ) from None


def _no_more(query: dict[str, str], url: str, what: str, known: str) -> None:
    if query:
        raise ValueError(
            f"Unknown option(s) {', '.join(sorted(query))} in {what} URL {redact(url)!r}; "
            f"known: {known}"
        )


# -- databases -----------------------------------------------------------------


def parse_database_url(url: str) -> dict[str, Any]:
    """One ``DATABASES`` entry from ``postgres://user:pw@host:5432/name?sslmode=require``.

    ``conn_max_age`` (seconds) and ``conn_health_checks`` (1 or 0) are djng's
    options; the others go to the driver (``OPTIONS``, checked for PostgreSQL).
    ``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``sqlite://:memory:``
    name SQLite files.
    """
    parts, query = _split(url, "database", tuple(DATABASE_ENGINES))
    engine = DATABASE_ENGINES[parts.scheme.lower()]
    # djng's options; every other one goes to the driver.
    connection: dict[str, Any] = {}
    max_age = _number(query, "conn_max_age", url, "database")
    if max_age is not None:
        connection["CONN_MAX_AGE"] = max_age
    if "conn_health_checks" in query:
        connection["CONN_HEALTH_CHECKS"] = _flag(query, "conn_health_checks", url, "database")
    if engine.endswith("sqlite3"):
        name = ":memory:" if parts.netloc == ":memory:" else unquote(parts.path[1:])
        if not name:
            raise ValueError(
                f"The database URL {redact(url)!r} names no file: use sqlite:///path/db.sqlite3"
            )
        return {"ENGINE": engine, "NAME": name, "OPTIONS": query, **connection}
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ValueError(
            f"The database URL {redact(url)!r} names no database: add it as the path, "
            f"e.g. {parts.scheme}://user@host:5432/dbname"
        )
    if not parts.hostname:
        raise ValueError(f"The database URL {redact(url)!r} names no host")
    if engine.endswith("postgresql") and query:
        _check_postgres_options(query, url)
    return {
        **connection,
        "ENGINE": engine,
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname),
        "PORT": str(parts.port or ""),
        "OPTIONS": query,
    }


def _check_postgres_options(options: dict[str, str], url: str) -> None:
    try:
        from psycopg.conninfo import make_conninfo
    except ImportError:
        raise ImportError(
            "A postgres:// database needs psycopg: pip install 'djng[postgres]'"
        ) from None
    try:
        make_conninfo("", **options)
    except Exception as exc:
        raise ValueError(
            f"Bad option in database URL {redact(url)!r}: {exc} (djng's own: conn_max_age, "
            "conn_health_checks; the rest are libpq's, such as sslmode and connect_timeout)"
        ) from None


def database_from_url(url: str) -> Any:
    from .db import Database, SQLite

    config = parse_database_url(url)
    if config["ENGINE"].endswith("sqlite3"):
        return SQLite(
            config["NAME"],
            conn_max_age=config.get("CONN_MAX_AGE", 0),
            conn_health_checks=config.get("CONN_HEALTH_CHECKS", False),
            **config["OPTIONS"],
        )
    return Database(url)


# -- caches --------------------------------------------------------------------


def cache_from_url(url: str) -> Any:
    """A cache backend from ``redis://[:pw@]host:6379/0?key_prefix=app&timeout=300``.

    Also ``rediss://`` (TLS), ``unix:///path.sock``, ``locmem://[name]``,
    ``file:///path/to/dir`` and ``dummy://``. ``timeout`` (seconds, the default
    expiry) and ``key_prefix`` are djng's; other Redis options (``db``, ...) are
    passed to redis-py.
    """
    from .cache import Dummy, FileBased, LocMem, Redis

    parts, query = _split(url, "cache", CACHE_SCHEMES)
    scheme = parts.scheme.lower()
    timeout = _number(query, "timeout", url, "cache")
    key_prefix = query.pop("key_prefix", "")
    common: dict[str, Any] = {"key_prefix": key_prefix}
    if timeout is not None:
        common["timeout"] = timeout
    if scheme in ("redis", "rediss", "unix"):
        if scheme != "unix" and not parts.hostname:
            raise ValueError(f"The cache URL {redact(url)!r} names no Redis host")
        known = _redis_options()
        _no_more({k: v for k, v in query.items() if k not in known}, url, "cache",
                 "timeout, key_prefix and redis-py's: " + ", ".join(sorted(known)))
        # The remaining query options (db=, ...) stay in the URL for redis-py.
        server = parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()
        return Redis(server, **common)
    if scheme == "locmem":
        _no_more(query, url, "cache", "timeout, key_prefix")
        return LocMem(parts.netloc or None, **common)
    if scheme == "file":
        _no_more(query, url, "cache", "timeout, key_prefix")
        if not parts.path:
            raise ValueError(
                f"The cache URL {redact(url)!r} names no folder: use file:///path/to/dir"
            )
        return FileBased(unquote(parts.path), **common)
    _no_more(query, url, "cache", "none")
    return Dummy()


def _redis_options() -> set[str]:
    """The options redis-py takes in a URL's query string."""
    import inspect

    try:
        from redis import connection
    except ImportError:
        raise ImportError("A redis:// cache needs redis-py: pip install 'djng[redis]'") from None
    names = set(connection.URL_QUERY_ARGUMENT_PARSERS)
    for cls in (connection.AbstractConnection, connection.SSLConnection):
        names.update(inspect.signature(cls.__init__).parameters)
    return names - {"self", "args", "kwargs", "host", "port", "path"}


# -- mail ------------------------------------------------------------------------


def mail_from_url(url: str) -> Any:
    """A mail backend from ``smtp://user:pass@host:587?tls=1&timeout=10``.

    ``smtps://`` is implicit TLS (port 465 by default); ``tls=1`` is STARTTLS.
    Also ``console://``, ``file:///path/to/dir`` and ``memory://``.
    """
    from .mail import SMTP, Console, File, Memory

    parts, query = _split(url, "e-mail", MAIL_SCHEMES)
    scheme = parts.scheme.lower()
    if scheme in ("smtp", "smtps"):
        use_ssl = scheme == "smtps" or _flag(query, "ssl", url, "e-mail")
        use_tls = _flag(query, "tls", url, "e-mail")
        timeout = _number(query, "timeout", url, "e-mail")
        _no_more(query, url, "e-mail", "tls, ssl, timeout")
        if not parts.hostname:
            raise ValueError(f"The e-mail URL {redact(url)!r} names no SMTP host")
        if use_tls and use_ssl:
            raise ValueError(
                f"The e-mail URL {redact(url)!r} asks for both STARTTLS (tls=1) and implicit "
                "TLS (smtps:// or ssl=1); pick one"
            )
        return SMTP(
            unquote(parts.hostname),
            parts.port or (465 if use_ssl else 25),
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            use_ssl=use_ssl,
            timeout=10 if timeout is None else timeout,
        )
    _no_more(query, url, "e-mail", "none")
    if scheme == "console":
        return Console()
    if scheme == "file":
        if not parts.path:
            raise ValueError(
                f"The e-mail URL {redact(url)!r} names no folder: use file:///path/to/dir"
            )
        return File(unquote(parts.path))
    return Memory()


#: Environment variables that set a service's process default, first found wins.
ENVIRONMENT: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "cache": (("DJNG_CACHE_URL",), cache_from_url),
    "db": (("DJNG_DATABASE_URL", "DATABASE_URL"), database_from_url),
    "mail": (("DJNG_EMAIL_URL",), mail_from_url),
}


def from_environment(service: str) -> Any | None:
    """The backend the environment names for ``service``, or None if it names none."""
    names, build = ENVIRONMENT[service]
    for name in names:
        url = os.environ.get(name)
        if url:
            try:
                return build(url)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"The environment variable {name}: {exc}") from None
    return None
