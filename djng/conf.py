"""Configure Django once, with what djng needs and nothing more.

djng never asks for ``settings.py``. At import it calls ``settings.configure()``
with a small base: the delegating backends that make Django's own helpers follow
djng's service stacks, and ``ROOT_URLCONF`` pointing at an empty module (several
Django fallbacks read it). The app registry is populated lazily, by :func:`setup`,
the first time something needs it (serving, templates, forms, the ORM), so that
``import djng`` stays cheap.

If the process configured Django before importing djng, djng keeps that
configuration and warns once about what then does not follow djng's services.
"""

from __future__ import annotations

import threading
import warnings

from django.conf import settings

#: For each service, the Django settings that make Django's helpers follow it.
DELEGATES: dict[str, dict[str, object]] = {}

BASE_SETTINGS: dict[str, object] = {
    "DEBUG": False,
    # Host validation is a deployment concern; djng apps are often mounted
    # behind a proxy that already checks it. Django's get_host() needs a value.
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": "djng.urls",
    "INSTALLED_APPS": [],
    "MIDDLEWARE": [],
    "USE_TZ": True,
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
}

_lock = threading.Lock()
_ready = False
#: True when djng configured Django itself, False when the host process did.
owns_settings = False


class DjangoAlreadyConfigured(UserWarning):
    """Django was configured before djng; some services will not follow djng."""


def configure() -> None:
    """Configure Django's settings for djng, or accept the host's configuration."""
    global owns_settings
    if settings.configured:
        _warn_foreign_settings()
        return
    delegated = {name: value for group in DELEGATES.values() for name, value in group.items()}
    settings.configure(**BASE_SETTINGS, **delegated)
    owns_settings = True


def _warn_foreign_settings() -> None:
    ignored = sorted(
        service
        for service, group in DELEGATES.items()
        if any(getattr(settings, name, None) != value for name, value in group.items())
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
    warnings.warn(message, DjangoAlreadyConfigured, stacklevel=3)


def setup() -> None:
    """Populate Django's app registry once; later calls cost one attribute read."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import django
        from django.apps import apps

        if not apps.ready:
            django.setup(set_prefix=False)
        _ready = True
