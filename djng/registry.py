"""Django's app registry for djng: populated lazily, Django's batteries, your apps.

``import djng`` leaves the registry empty, so that it stays cheap. :func:`setup`
populates it the first time something needs it (serving, templates, forms, the
ORM); :func:`install_batteries` adds Django's own apps the first time an app
uses sessions, auth, the admin or models; :func:`install` (``djng.install``)
adds third-party apps, as ``INSTALLED_APPS`` would, until the first request.
"""

from __future__ import annotations

import threading

from django.conf import settings

from . import _django, conf

__all__ = ["BATTERIES", "install", "install_batteries", "setup"]

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

#: True once the first request has been served: the registry is fixed from then on.
serving = False


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


def install(*names: str) -> None:
    """Add Django apps to the process: ``djng.install('rest_framework', 'corsheaders')``.

    Their models and migrations (``python app.py migrate``), templates and
    template tag libraries, static files, management commands and system checks
    work as in a Django project. Django's own apps behind djng's batteries
    (contenttypes, auth, sessions, messages, admin) come first, as most
    packages lean on them. Call it before the first request is served (at the
    top of ``app.py``); models defined before it are fine.
    """
    if not names or not all(isinstance(name, str) and name for name in names):
        raise TypeError(
            "djng.install() takes the names of Django apps, as INSTALLED_APPS lists them: "
            "djng.install('rest_framework', 'corsheaders')"
        )
    if serving:
        raise RuntimeError(
            f"djng.install{names!r} came after the first request was served; the app "
            "registry is fixed from then on. Call djng.install() at the top of app.py, "
            "right after import djng."
        )
    if not conf.owns_settings:
        raise RuntimeError(
            "Django was configured before djng was imported, so INSTALLED_APPS is the "
            f"host's: add {', '.join(names)} to it there."
        )
    install_batteries()
    with _batteries_lock:
        from django.apps import apps
        from django.core.exceptions import ImproperlyConfigured

        missing = [name for name in dict.fromkeys(names) if name not in settings.INSTALLED_APPS]
        for name in missing:
            try:
                _django.check_app(name, apps)
            except ImportError as exc:
                raise ImportError(
                    f"djng.install({name!r}): {exc}; is its package installed in this "
                    "environment (pip install ...)?"
                ) from None
            except ImproperlyConfigured as exc:
                raise ImproperlyConfigured(f"djng.install({name!r}): {exc}") from None
        if missing:
            _django.install_apps(missing)
