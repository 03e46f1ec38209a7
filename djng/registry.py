"""Django's app registry for djng: populated lazily, and the apps behind the batteries.

``import djng`` leaves the registry empty, so that it stays cheap. :func:`setup`
populates it the first time something needs it (serving, templates, forms, the
ORM); :func:`install_batteries` adds Django's own apps the first time an app
uses sessions, auth, the admin or models.
"""

from __future__ import annotations

import threading

from django.conf import settings

from . import _django, conf

__all__ = ["BATTERIES", "install_batteries", "setup"]

#: Django's apps behind djng's batteries (models, auth, sessions, messages, admin),
#: installed by :func:`install_batteries` when an app first uses one of them, so
#: that an app that does not pays nothing (not even importing their models).
#: The admin's app config is the one without autodiscovery: djng.admin() builds its site.
BATTERIES = (
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin.apps.SimpleAdminConfig",
)

_lock = threading.Lock()
_ready = False
_batteries_lock = threading.Lock()
_batteries = False


def setup() -> None:
    """Populate Django's app registry once; later calls cost one global read."""
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


def install_batteries() -> None:
    """Install Django's apps behind djng's batteries (:data:`BATTERIES`), then set up.

    Before the registry is populated they are simply added to
    ``INSTALLED_APPS``; after, they are added the way ``populate()`` does it. A
    host that configured Django itself keeps its own ``INSTALLED_APPS``.
    """
    global _batteries
    if _batteries:
        return
    with _batteries_lock:
        if _batteries:
            return
        from django.apps import apps

        missing = [name for name in BATTERIES if name not in settings.INSTALLED_APPS]
        if conf.owns_settings and missing:
            if apps.ready:
                _django.install_apps(missing)
            else:
                settings.INSTALLED_APPS = [*missing, *settings.INSTALLED_APPS]
        setup()
        _batteries = True
