"""``djng.settings``: the Django settings third-party packages read.

``djng.settings(CORS_ALLOWED_ORIGINS=[...], REST_FRAMEWORK={...})`` sets them
for the process. Packages read their settings at different times: some on
every request (django-cors-headers), some once, when they are imported or first
used (Django REST framework, django-ninja). So the rule is: **call
djng.settings() before importing the packages that read them**, at the top of
``app.py``. A setting already read when it is set gets a warning
(``djng.settings.AlreadyRead``), never silence.

A setting read on every request can also be scoped to part of an app, like a
service: ``djng.reconfigure(api, settings={'CORS_ALLOWED_ORIGINS': [...]})``,
``with djng.settings.use({...}):`` or ``djng.settings.push({...})`` for one
request. Settings Django or a package reads once (:data:`PROCESS_WIDE`) cannot
be scoped; the settings djng itself manages (:data:`DJNG_WAYS`) are set the djng
way instead. Both lists are on the service too (``djng.settings.PROCESS_WIDE``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from .. import _django
from .stack import Service

__all__ = ["DJNG_WAYS", "PROCESS_WIDE", "SettingAlreadyRead", "settings"]

#: The settings djng manages, and the djng way to set each.
DJNG_WAYS = {
    "ALLOWED_HOSTS": "djng.hosts.configure([...]) or DJNG_ALLOWED_HOSTS",
    "CACHES": "djng.cache.configure(...)",
    "DATABASES": "djng.db.configure(...) (or djng.db.Database(...) for more)",
    "DATABASE_ROUTERS": "djng.db (it routes to the database in effect)",
    "DEBUG": "djng.debug.configure(True)",
    "EMAIL_BACKEND": "djng.mail.configure(...)",
    "FORM_RENDERER": "djng.templates (forms render with the engine in effect)",
    "INSTALLED_APPS": "djng.install('app', ...)",
    "MIDDLEWARE": "djng.middleware(MiddlewareClass)(app)",
    "ROOT_URLCONF": "a djng.Router (djng.mount() takes Django URL patterns too)",
    "SECRET_KEY": "djng.secrets.configure(key) or DJNG_SECRET_KEY",
    "SECRET_KEY_FALLBACKS": "djng.secrets.configure(djng.secrets.Key(key, fallbacks=[...]))",
    "STORAGES": "djng.storage.configure(...)",
    "TEMPLATES": "djng.templates.configure(...)",
}

#: Settings read once (by Django, or by the packages named) and cached: a scope
#: could not change them for part of an app, so they are refused there.
PROCESS_WIDE = frozenset({
    "AUTH_PASSWORD_VALIDATORS", "AUTH_USER_MODEL", "CACHE_MIDDLEWARE_SECONDS",
    "DEFAULT_EXCEPTION_REPORTER_FILTER", "LANGUAGES", "LOGGING", "LOGGING_CONFIG",
    "PASSWORD_HASHERS", "SESSION_ENGINE", "TIME_ZONE", "USE_I18N",
    "REST_FRAMEWORK", "CORS_URLS_REGEX",
    "NINJA_PAGINATION_CLASS", "NINJA_PAGINATION_PER_PAGE", "NINJA_PAGINATION_MAX_LIMIT",
    "NINJA_DEFAULT_THROTTLE_RATES", "NINJA_NUM_PROXIES", "NINJA_FIX_REQUEST_FILES_METHODS",
})


class SettingAlreadyRead(UserWarning):
    """A setting was changed after something had read it: that reader may keep the old value."""


def _check_name(name: str, where: str) -> None:
    if not name.isupper() or not name.replace("_", "").isalnum():
        raise TypeError(f"{where}: {name!r} is not a setting name (settings are UPPER_CASE)")
    if name in DJNG_WAYS:
        raise TypeError(f"{where}: {name} is djng's to manage; use {DJNG_WAYS[name]}")


def _coerce(overrides: Any) -> dict[str, Any]:
    """A scope's settings: checked, and their reads sent to the scope in effect."""
    if not isinstance(overrides, Mapping):
        raise TypeError("Give a dict of settings, e.g. {'CORS_ALLOWED_ORIGINS': [...]}")
    for name in overrides:
        _check_name(name, "djng.settings scope")
        if name in PROCESS_WIDE or name.startswith("SECURE_"):
            raise TypeError(
                f"{name} is read once and kept (by Django or the package that uses it), so a "
                f"scope cannot change it for part of an app; set it for the process with "
                f"djng.settings({name}=...)"
            )
    overrides = dict(overrides)
    if overrides:
        _django.scope_settings(overrides, _in_scope)
    return overrides


def _in_scope(name: str) -> Any:
    for overrides in reversed(settings._stack.get()):  # noqa: SLF001 - the service's own stack
        if name in overrides:
            return overrides[name]
    return _django.MISSING


class SettingsService(Service[dict]):
    """``djng.settings(**values)`` for the process; ``use``/``push``/``reconfigure`` scope."""

    AlreadyRead = SettingAlreadyRead
    PROCESS_WIDE = PROCESS_WIDE
    DJNG_WAYS = DJNG_WAYS

    def __call__(self, **values: Any) -> None:
        """Set Django settings for the whole process (see the module docstring)."""
        from django.conf import settings as django_settings

        if not values:
            raise TypeError("djng.settings() needs settings, e.g. CORS_ALLOWED_ORIGINS=[...]")
        for name in values:
            _check_name(name, "djng.settings()")
        for name, value in values.items():
            if _django.setting_was_read(name) and _current(name) != value:
                warnings.warn(
                    f"djng.settings({name}=...) comes after {name} was read (by a package "
                    "imported or used before this call), which may keep the old value. "
                    "Call djng.settings() before importing the packages that read it.",
                    SettingAlreadyRead,
                    stacklevel=2,
                )
            setattr(django_settings, name, value)

    def configure(self, backend: Any) -> None:
        """The same as calling it with the dict's items: for the whole process."""
        if not isinstance(backend, Mapping):
            raise TypeError("djng.settings.configure() takes a dict of settings")
        self(**backend)


def _current(name: str) -> Any:
    from django.conf import settings as django_settings

    return getattr(django_settings, name, _django.MISSING)


settings = SettingsService(
    "settings",
    expects="a dict of Django settings, such as {'CORS_ALLOWED_ORIGINS': [...]}",
    coerce=_coerce,
    default=dict,
)
