"""``djng.storage``: file storages on a context-local stack.

``default_storage``, ``FileField`` and ``{% static %}`` follow the storage in
effect: Django's ``STORAGES`` names :class:`ContextStorage` (media) and
:class:`ContextStaticStorage` (static files, the ``.static`` of the storage in
effect). The process default is the ``media/`` folder next to the app.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, InMemoryStorage, Storage

from .. import _django, location
from .stack import Service

__all__ = ["ContextStaticStorage", "ContextStorage", "FileSystem", "Memory", "storage"]


class FileSystem(FileSystemStorage):
    """Files under ``root`` (created on first write), served at ``base_url``.

    ``static`` is the storage ``{% static %}`` uses: ``static_root`` (default:
    ``static/`` beside ``root``) at ``static_url``.
    """

    def __init__(
        self,
        root: str | Path | None,
        base_url: str = "/media/",
        *,
        static_root: str | Path | None = None,
        static_url: str = "/static/",
        **options: Any,
    ) -> None:
        self.root = None if root is None else str(root)
        super().__init__(location=self.root, base_url=base_url, **options)
        self.static_root = static_root
        self.static_url = static_url

    @cached_property
    def base_location(self) -> str:
        if self.root is None:
            raise ImproperlyConfigured(
                "djng.storage has no folder to write to: the app has no folder of its own "
                "(no script, no DJNG_APP_DIR). Configure one, e.g. "
                "djng.storage.configure(djng.storage.FileSystem('media', '/media/')), "
                "or use djng.storage.Memory() in tests."
            )
        return self.root

    @cached_property
    def static(self) -> Storage:
        root = self.static_root
        if root is None and self.root is not None:
            root = Path(self.root).parent / "static"
        return FileSystem(root, self.static_url)

    def __repr__(self) -> str:
        return f"FileSystem({self.root!r}, {self.base_url!r})"


class Memory(InMemoryStorage):
    """Files kept in memory, for tests and throwaway data."""

    def __init__(
        self, base_url: str = "/media/", *, static_url: str = "/static/", **options: Any
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self.static_url = static_url

    @cached_property
    def static(self) -> Storage:
        return InMemoryStorage(base_url=self.static_url)

    def __repr__(self) -> str:
        return f"Memory({self.base_url!r})"


def _default() -> FileSystem:
    folder = location.app_dir()
    return FileSystem(None if folder is None else folder / "media", "/media/")


def check() -> None:
    """Health: ask the storage in effect whether its root exists (raises if it cannot be asked)."""
    storage.current().exists("")


def _coerce(backend: Any) -> Storage:
    if isinstance(backend, Storage):
        return backend
    raise TypeError("Use djng.storage.FileSystem(root, base_url), Memory() or a Django Storage")


class StorageService(Service[Storage]):
    FileSystem = FileSystem
    Memory = Memory


storage = StorageService(
    "storage",
    expects="a Django Storage such as djng.storage.FileSystem(root, base_url)",
    coerce=_coerce,
    default=_default,
    django_settings={
        "STORAGES": {
            "default": {"BACKEND": "djng.services.storage.ContextStorage"},
            "staticfiles": {"BACKEND": "djng.services.storage.ContextStaticStorage"},
        }
    },
    health_check=check,
)


class ContextStorage(_django.ContextProxy):
    """What ``STORAGES['default']`` names: forwards to ``djng.storage`` in effect."""

    def __init__(self, **options: Any) -> None:
        super().__init__()

    def _target(self) -> Storage:
        return storage.current()


class ContextStaticStorage(ContextStorage):
    """What ``STORAGES['staticfiles']`` names: the ``.static`` of the storage in effect."""

    def _target(self) -> Storage:
        current = storage.current()
        return getattr(current, "static", current)
