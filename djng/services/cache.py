"""``djng.cache``: Django cache backends on a context-local stack.

``django.core.cache.cache``, ``caches['default']`` and cache-backed sessions
follow the backend in effect, through :class:`ContextCache`. The process
default comes from ``DJNG_CACHE_URL`` when it is set, else an in-process
``LocMem``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from .. import _django
from ..state import cache_handle_opened
from . import _url
from .stack import Service

__all__ = ["SCHEMES", "ContextCache", "Dummy", "FileBased", "LocMem", "Redis", "cache", "from_url"]

#: The URL schemes :func:`from_url` reads.
SCHEMES = ("redis", "rediss", "unix", "locmem", "file", "dummy")

#: The query options of a ``redis://`` cache URL that an error lists: djng's
#: own two, then redis-py's common ones (it takes its other connection options too).
REDIS_URL_OPTIONS = (
    "timeout", "key_prefix", "db", "socket_timeout", "socket_connect_timeout",
    "health_check_interval", "max_connections", "retry_on_timeout", "ssl_cert_reqs",
)


def _params(timeout: float | None, key_prefix: str, options: dict[str, Any]) -> dict[str, Any]:
    # timeout=None means "never expire", as in Django, so it is always passed.
    return {"TIMEOUT": timeout, "KEY_PREFIX": key_prefix, "OPTIONS": options}


class LocMem(LocMemCache):
    """An in-process cache; each instance is a separate store unless ``name`` is shared."""

    def __init__(
        self,
        name: str | None = None,
        *,
        timeout: float | None = 300,
        key_prefix: str = "",
        max_entries: int = 300,
        cull_frequency: int = 3,
    ) -> None:
        self.name = name or f"djng-{uuid.uuid4().hex}"
        options = {"MAX_ENTRIES": max_entries, "CULL_FREQUENCY": cull_frequency}
        super().__init__(self.name, _params(timeout, key_prefix, options))

    def __repr__(self) -> str:
        return f"LocMem({self.name!r})"


class FileBased(FileBasedCache):
    """A cache stored as files in the folder ``path`` (created when first written)."""

    def __init__(
        self,
        path: str,
        *,
        timeout: float | None = 300,
        key_prefix: str = "",
        max_entries: int = 300,
        cull_frequency: int = 3,
    ) -> None:
        self.path = str(path)
        options = {"MAX_ENTRIES": max_entries, "CULL_FREQUENCY": cull_frequency}
        _django.file_cache_without_folder(self, self.path, _params(timeout, key_prefix, options))

    def __repr__(self) -> str:
        return f"FileBased({self.path!r})"


class Dummy(DummyCache):
    """A cache that stores nothing: every get misses."""

    def __init__(self) -> None:
        super().__init__("", {})

    def __repr__(self) -> str:
        return "Dummy()"


class Redis(RedisCache):
    """Django's Redis cache (``pip install 'djng[redis]'``); connects on first use.

    ``url`` is ``redis://[:password@]host:6379/0`` (``rediss://`` for TLS, several
    servers separated by commas: the first takes writes). Other keyword options
    go to redis-py's connection pool; connect and socket timeouts default to 5 s
    so that a Redis that is down fails a request instead of hanging it.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = 300,
        key_prefix: str = "",
        **options: Any,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"djng.cache.Redis needs a redis://, rediss:// or unix:// URL, got "
                f"{_url.redact(str(url))!r}"
            )
        options.setdefault("socket_connect_timeout", 5)
        options.setdefault("socket_timeout", 5)
        self.url = url
        super().__init__(url, _params(timeout, key_prefix, options))

    def __repr__(self) -> str:
        return f"Redis({_url.redact(self.url)!r})"


def from_url(url: str) -> BaseCache:
    """A cache backend from ``redis://[:pw@]host:6379/0?key_prefix=app&timeout=300``.

    Also ``rediss://`` (TLS), ``unix:///path.sock``, ``locmem://[name]``,
    ``file:///path/to/dir`` and ``dummy://``. ``timeout`` (seconds, the default
    expiry) and ``key_prefix`` are djng's; the other Redis options
    (:data:`REDIS_URL_OPTIONS`, and any other connection option of redis-py's)
    are passed to redis-py.
    """
    parts, query = _url.split(url, "cache", SCHEMES)
    scheme = parts.scheme.lower()
    timeout = _url.number(query, "timeout", url, "cache")
    key_prefix = query.pop("key_prefix", "")
    common: dict[str, Any] = {"key_prefix": key_prefix}
    if timeout is not None:
        common["timeout"] = timeout
    if scheme in ("redis", "rediss", "unix"):
        if scheme != "unix" and not parts.hostname:
            raise ValueError(f"The cache URL {_url.redact(url)!r} names no Redis host")
        known = _redis_options()
        _url.no_more({k: v for k, v in query.items() if k not in known}, url, "cache",
                     ", ".join(REDIS_URL_OPTIONS) + " and redis-py's other connection options",
                     candidates=known | {"timeout", "key_prefix"})
        # The remaining query options (db=, ...) stay in the URL for redis-py.
        server = parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()
        return Redis(server, **common)
    if scheme == "locmem":
        _url.no_more(query, url, "cache", "timeout, key_prefix")
        return LocMem(parts.netloc or None, **common)
    if scheme == "file":
        _url.no_more(query, url, "cache", "timeout, key_prefix")
        if not parts.path:
            raise ValueError(
                f"The cache URL {_url.redact(url)!r} names no folder: use file:///path/to/dir"
            )
        return FileBased(unquote(parts.path), **common)
    _url.no_more(query, url, "cache", "none")
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


def check() -> None:
    """Health: write, read back and delete a key in the cache in effect."""
    backend = cache.current()
    if isinstance(backend, DummyCache):
        return  # stores nothing by design; nothing to reach
    key = f"djng:health:{uuid.uuid4().hex}"
    backend.set(key, "ok", 30)
    try:
        if backend.get(key) != "ok":
            raise RuntimeError("the cache did not return the value just written")
    finally:
        backend.delete(key)


def _coerce(backend: Any) -> BaseCache:
    if isinstance(backend, BaseCache):
        return backend
    raise TypeError(
        "Use djng.cache.LocMem(), FileBased(path), Dummy(), Redis(url), a cache URL "
        "or a Django cache backend"
    )


class CacheService(Service[BaseCache]):
    LocMem = LocMem
    FileBased = FileBased
    Dummy = Dummy
    Redis = Redis


cache = CacheService(
    "cache",
    expects="a Django cache backend such as djng.cache.LocMem()",
    coerce=_coerce,
    default=LocMem,
    from_text=from_url,
    environ=("DJNG_CACHE_URL",),
    django_settings={"CACHES": {"default": {"BACKEND": "djng.services.cache.ContextCache"}}},
    health_check=check,
)


class ContextCache(_django.ContextProxy):
    """The backend Django's ``CACHES['default']`` names: forwards to ``djng.cache``."""

    def __init__(self, location: Any = None, params: Any = None) -> None:
        super().__init__()
        self.__dict__["_served"] = set()  # LazyObject would forward a plain setattr

    def _target(self) -> BaseCache:
        # This context used the cache: close_caches has work when its request ends
        # (also when the handle was opened before the request, in the caller's context).
        cache_handle_opened.set(True)
        backend = cache.current()
        self._served.add(backend)
        return backend

    def close(self, **kwargs: Any) -> None:
        """Close every backend this handle served (Django calls it at request end,
        when a scope such as reconfigure() may no longer be in effect)."""
        served, self.__dict__["_served"] = self._served, set()
        for backend in served:
            backend.close(**kwargs)
