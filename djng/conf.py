"""Configure Django's settings once, with what djng needs and nothing more.

djng never asks for ``settings.py``. ``import djng`` calls :func:`configure`
with a small base (:data:`BASE_SETTINGS`) and the settings each service
declares for its delegating backend (``Service.django_settings``), which make
Django's own helpers follow djng's service stacks.

If the process configured Django before importing djng, djng keeps that
configuration and warns once about which services Django then does not follow.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.functional import Promise

from . import _django

__all__ = ["BASE_SETTINGS", "DELEGATES", "DjangoAlreadyConfigured", "configure", "owns_settings"]

BASE_SETTINGS: dict[str, object] = {
    "DEBUG": False,
    # Several Django fallbacks read ROOT_URLCONF even while a Router is the urlconf.
    "ROOT_URLCONF": "djng.urls",
    # Django's batteries (djng.registry.BATTERIES) join them when an app first uses one.
    "INSTALLED_APPS": ["django.contrib.staticfiles"],
    "CSRF_FAILURE_VIEW": "djng.batteries.csrf.failure",
    # The admin's system checks look for its middleware in MIDDLEWARE and its context
    # processors in TEMPLATES; djng.admin() brings both along for its own requests.
    "SILENCED_SYSTEM_CHECKS": [
        "admin.E402", "admin.E403", "admin.E404", "admin.E408", "admin.E409", "admin.E410",
        "admin.W411",
    ],
    "MIDDLEWARE": [],
    # 'default' mirrors the process default of djng.db once it is first used
    # (djng.services.db fills it in), so code that uses django.db.connection
    # talks to the same database; until then it says how to configure one.
    "DATABASES": {"default": {"ENGINE": "djng.services._no_database"}},
    "STATIC_URL": "/static/",
    "DEFAULT_EXCEPTION_REPORTER_FILTER": "djng.services.reporter_filter.ReporterFilter",
    # Unhandled exceptions are reported by djng.errors; Django's default logging
    # config (console only when settings.DEBUG, mail to ADMINS) would add nothing
    # but start-up time. Warnings of Django's loggers still reach stderr.
    "LOGGING_CONFIG": None,
    "USE_TZ": True,
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
}

#: For each service, the Django settings of its delegating backend (filled by configure()).
DELEGATES: dict[str, Mapping[str, Any]] = {}

#: True when djng configured Django itself, False when the host process did.
owns_settings = False


class DjangoAlreadyConfigured(UserWarning):
    """Django was configured before djng; some services will not follow djng."""


def configure(delegates: Mapping[str, Mapping[str, Any]]) -> None:
    """Configure Django for djng, or accept the host's configuration.

    ``delegates`` maps each service's name to the settings of its delegating
    backend. Called once, by ``import djng``.
    """
    global owns_settings
    DELEGATES.update(delegates)
    if settings.configured:
        _warn_foreign_settings()
        return
    delegated = {name: value for group in delegates.values() for name, value in group.items()}
    settings.configure(**BASE_SETTINGS, **delegated)
    owns_settings = True
    _django.track_setting_reads()  # djng.settings() warns when it comes too late


def _warn_foreign_settings() -> None:
    ignored = sorted(
        service
        for service, group in DELEGATES.items()
        if not all(_follows(name, value) for name, value in group.items())
    )
    message = (
        "Django was configured before djng was imported, so djng uses that configuration."
    )
    if ignored:
        message += (
            " These djng services will not be followed by Django's own helpers: "
            + ", ".join(ignored)
            + ". Import djng before configuring Django, or point those settings at "
            "djng's delegating backends (see djng.conf.DELEGATES)."
        )
    # 1 here, 2 configure(), 3 djng/__init__.py, 4 the user's `import djng`
    # (the import machinery's own frames are skipped by warnings).
    warnings.warn(message, DjangoAlreadyConfigured, stacklevel=4)


def _follows(name: str, value: Any) -> bool:
    """True if the host's setting ``name`` is djng's ``value``."""
    try:
        host = getattr(settings, name, None)
    except Exception:  # e.g. an empty SECRET_KEY, which Django refuses to hand out
        return False
    if isinstance(value, Promise):  # a lazy value: comparing would evaluate it
        return host is value
    return host == value
