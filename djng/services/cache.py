"""``djng.cache``: Django cache backends on a context-local stack.

``django.core.cache.cache``, ``caches['default']`` and cache-backed sessions
follow the backend in effect, through :class:`ContextCache`.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from ..housekeeping import cache_handle_opened
from .proxy import ContextProxy
from .stack import Service
from .urls import cache_from_url, from_environment, redact

__all__ = ["ContextCache", "Dummy", "FileBased", "LocMem", "Redis", "cache"]


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
        # Django's __init__ creates the folder at once; its set() and add()
        # create it when needed, so djng skips that step.
        BaseCache.__init__(self, _params(timeout, key_prefix, options))
        self._dir = os.path.abspath(self.path)

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
                f"{redact(str(url))!r}"
            )
        options.setdefault("socket_connect_timeout", 5)
        options.setdefault("socket_timeout", 5)
        self.url = url
        super().__init__(url, _params(timeout, key_prefix, options))

    def __repr__(self) -> str:
        return f"Redis({redact(self.url)!r})"


def _coerce(backend: Any) -> BaseCache:
    if isinstance(backend, BaseCache):
        return backend
    if isinstance(backend, str):
        return cache_from_url(backend)
    raise TypeError(
        "Use djng.cache.LocMem(), FileBased(path), Dummy(), Redis(url), a cache URL "
        "or a Django cache backend"
    )


def _default() -> BaseCache:
    backend = from_environment("cache")
    return LocMem() if backend is None else backend


class CacheService(Service[BaseCache]):
    LocMem = LocMem
    FileBased = FileBased
    Dummy = Dummy
    Redis = Redis


cache = CacheService(
    "cache",
    expects="a Django cache backend such as djng.cache.LocMem()",
    coerce=_coerce,
    default=_default,
)


class ContextCache(ContextProxy):
    """The backend Django's ``CACHES['default']`` names: forwards to ``djng.cache``."""

    def __init__(self, location: Any = None, params: Any = None) -> None:
        super().__init__()
        # Django opens one per context that uses the cache; close_caches then has work.
        cache_handle_opened.set(True)
        self.__dict__["_served"] = set()  # LazyObject would forward a plain setattr

    def _target(self) -> BaseCache:
        backend = cache.current()
        self._served.add(backend)
        return backend

    def close(self, **kwargs: Any) -> None:
        """Close every backend this handle served (Django calls it at request end,
        when a scope such as reconfigure() may no longer be in effect)."""
        served, self.__dict__["_served"] = self._served, set()
        for backend in served:
            backend.close(**kwargs)
