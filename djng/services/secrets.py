"""``djng.secrets``: the secret key that signs sessions, cookies, CSRF and tokens.

Django reads ``settings.SECRET_KEY`` (and ``SECRET_KEY_FALLBACKS``) wherever it
signs something. djng gives Django lazy values for both (the service's
``django_settings``) that resolve ``djng.secrets.current()`` on every use, so
signing follows the key in effect like every other service.

Where the key comes from, first match wins:

1. ``djng.secrets.configure(key)`` (or a pushed / ``use()``-d key);
2. the ``DJNG_SECRET_KEY`` environment variable (``DJNG_SECRET_KEY_FALLBACKS``:
   older keys, comma-separated, still accepted when checking signatures);
3. in development (``djng.serve()``, ``djng.debug`` on, or a process that made
   a test client): a random key generated once and kept in ``.djng-secret-key``
   next to the app (in memory when the app has no folder), so sessions survive
   restarts;
4. otherwise (production) there is no key: using one, or starting an app that
   needs one, is an error that says what to set. Never a silently random key.
"""

from __future__ import annotations

import os
import secrets as _random
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy

from .. import location
from .debug import debug
from .stack import Service

__all__ = ["KEY_FILE", "Key", "development", "secrets"]

#: The file, next to the app, where a development key is kept.
KEY_FILE = ".djng-secret-key"

#: Why the app needs a key (filled in by the layers that sign: sessions, auth, admin).
_required_by: set[str] = set()
_file_lock = threading.Lock()


class Key:
    """A secret key, with older ``fallbacks`` still accepted when checking signatures."""

    __slots__ = ("value", "fallbacks")

    def __init__(self, value: str, fallbacks: Iterable[str] = ()) -> None:
        if not isinstance(value, str) or not value.strip():
            raise TypeError("a secret key must be a non-empty string")
        fallbacks = (fallbacks,) if isinstance(fallbacks, str) else tuple(fallbacks)
        if not all(isinstance(f, str) and f for f in fallbacks):
            raise TypeError("fallback keys must be non-empty strings")
        self.value = value
        self.fallbacks = fallbacks

    def __repr__(self) -> str:  # never show the key itself
        extra = f", {len(self.fallbacks)} fallback(s)" if self.fallbacks else ""
        return f"<djng.secrets.Key ({len(self.value)} characters{extra})>"


def _coerce(backend: Any) -> Key:
    if isinstance(backend, Key):
        return backend
    if isinstance(backend, str):
        return Key(backend)
    raise TypeError("Use a string, or djng.secrets.Key(key, fallbacks=[older keys])")


_development_server = False


def development() -> bool:
    """True in development: the development server (``djng.serve()``), ``djng.debug``
    on for the process, or a process that made a test client.

    Debug pushed for one request (``djng.debug.push(True)``) does not count: only
    the process default does; nor does importing ``djng.testing`` without using it.
    """
    if _development_server or debug.default() is True:
        return True
    clients = sys.modules.get("djng.test_client")
    return bool(getattr(clients, "in_use", False))


def _default() -> Key:
    value = os.environ.get("DJNG_SECRET_KEY", "").strip()
    if value:
        fallbacks = os.environ.get("DJNG_SECRET_KEY_FALLBACKS", "")
        return Key(value, [f.strip() for f in fallbacks.split(",") if f.strip()])
    if development():
        return Key(_development_key())
    needed = f" (needed by {', '.join(sorted(_required_by))})" if _required_by else ""
    raise ImproperlyConfigured(
        f"djng has no secret key{needed}. Set the DJNG_SECRET_KEY environment variable "
        "or call djng.secrets.configure(key) before serving; generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'. "
        "(In development, djng.serve() keeps a generated key in "
        f"{KEY_FILE} next to the app.)"
    )


def _development_key() -> str:
    """The key kept next to the app, created on first use; in memory without a folder."""
    folder = location.app_dir()
    if folder is None:
        return _random.token_urlsafe(50)
    path = Path(folder) / KEY_FILE
    with _file_lock:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text(encoding="utf-8").strip()
            if key:
                return key
            raise ImproperlyConfigured(
                f"The development key file {path} is empty: delete it to generate a new one"
            ) from None
        key = _random.token_urlsafe(50)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(key + "\n")
        return key


class SecretsService(Service[Key]):
    Key = Key

    def require(self, reason: str) -> None:
        """Note that ``reason`` (e.g. ``'sessions'``) signs things: start-up checks for a key."""
        _required_by.add(reason)

    def check(self) -> None:
        """At start-up: if something needs a key, fail now, clearly, when there is none."""
        if _required_by:
            self.current()

    def development_server(self) -> None:
        """Say that the development server runs this process (``djng.serve()`` does)."""
        global _development_server
        _development_server = True


def _key() -> str:
    return secrets.current().value


def _fallbacks() -> list[str]:
    return list(secrets.current().fallbacks)


secrets = SecretsService(
    "secrets",
    expects="a secret key: a string or djng.secrets.Key(key, fallbacks=[...])",
    coerce=_coerce,
    default=_default,
    # Lazy: each use resolves the key in effect.
    django_settings={
        "SECRET_KEY": lazy(_key, str)(),
        "SECRET_KEY_FALLBACKS": lazy(_fallbacks, list)(),
    },
)

