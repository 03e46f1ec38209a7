"""``djng.cache``: Django cache backends on a context-local stack.

``django.core.cache.cache``, ``caches['default']`` and cache-backed sessions
follow the backend in effect, through :class:`ContextCache`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache

from .proxy import ContextProxy
from .stack import Service

__all__ = ["ContextCache", "Dummy", "FileBased", "LocMem", "cache"]


def _params(timeout: float | None, key_prefix: str, options: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"KEY_PREFIX": key_prefix, "OPTIONS": options}
    if timeout is not None:
        params["TIMEOUT"] = timeout
    return params


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
    """A cache stored as files in ``path`` (created when first written)."""

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
        super().__init__(self.path, _params(timeout, key_prefix, options))

    def __repr__(self) -> str:
        return f"FileBased({self.path!r})"


class Dummy(DummyCache):
    """A cache that stores nothing: every get misses."""

    def __init__(self) -> None:
        super().__init__("", {})

    def __repr__(self) -> str:
        return "Dummy()"


def _coerce(backend: Any) -> BaseCache:
    if isinstance(backend, BaseCache):
        return backend
    raise TypeError("Use djng.cache.LocMem(), FileBased(path), Dummy() or a Django cache backend")


class CacheService(Service[BaseCache]):
    LocMem = LocMem
    FileBased = FileBased
    Dummy = Dummy


cache = CacheService(
    "cache",
    expects="a Django cache backend such as djng.cache.LocMem()",
    coerce=_coerce,
    default=LocMem,
)


class ContextCache(ContextProxy):
    """The backend Django's ``CACHES['default']`` names: forwards to ``djng.cache``."""

    def __init__(self, location: Any = None, params: Any = None) -> None:
        super().__init__()

    def _target(self) -> BaseCache:
        return cache.current()
