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

import os
import sys
import sysconfig
import threading
import warnings
from pathlib import Path

from django.conf import settings
from django.utils.functional import lazy


def _secret_key() -> str:
    from .services.secrets import secrets

    return secrets.current().value


def _secret_key_fallbacks() -> list[str]:
    from .services.secrets import secrets

    return list(secrets.current().fallbacks)


#: For each service, the Django settings that make Django's helpers follow it:
#: each points at a delegating backend that forwards to the service in effect.
DELEGATES: dict[str, dict[str, object]] = {
    "cache": {"CACHES": {"default": {"BACKEND": "djng.services.cache.ContextCache"}}},
    "mail": {"EMAIL_BACKEND": "djng.services.mail.ContextEmailBackend"},
    "templates": {
        "TEMPLATES": [{"BACKEND": "djng.services.templates.ContextTemplates", "NAME": "djng"}],
        "FORM_RENDERER": "django.forms.renderers.TemplatesSetting",
    },
    "storage": {
        "STORAGES": {
            "default": {"BACKEND": "djng.services.storage.ContextStorage"},
            "staticfiles": {"BACKEND": "djng.services.storage.ContextStaticStorage"},
        }
    },
    "db": {"DATABASE_ROUTERS": ["djng.services.db.ContextRouter"]},
}

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

BASE_SETTINGS: dict[str, object] = {
    "DEBUG": False,
    # Host validation is a deployment concern; djng apps are often mounted
    # behind a proxy that already checks it. Django's get_host() needs a value.
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": "djng.urls",
    # Django's batteries (BATTERIES) join them when an app first uses one.
    "INSTALLED_APPS": ["django.contrib.staticfiles"],
    # Lazy: each use resolves the key in effect in djng.secrets.
    "SECRET_KEY": lazy(_secret_key, str)(),
    "SECRET_KEY_FALLBACKS": lazy(_secret_key_fallbacks, list)(),
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
    # talks to the same database.
    "DATABASES": {"default": {}},
    "STATIC_URL": "/static/",
    "DEFAULT_EXCEPTION_REPORTER_FILTER": "djng.services.reporter_filter.ReporterFilter",
    # Unhandled exceptions are reported by djng.errors; Django's default logging
    # config (console only when settings.DEBUG, mail to ADMINS) would add nothing
    # but start-up time. Warnings of Django's loggers still reach stderr.
    "LOGGING_CONFIG": None,
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
    # 1 here, 2 configure(), 3 djng/__init__.py, 4 the user's `import djng`
    # (the import machinery's own frames are skipped by warnings).
    warnings.warn(message, DjangoAlreadyConfigured, stacklevel=4)


def app_dir() -> Path | None:
    """The folder of the app, where default templates/, media/ and db.sqlite3 live.

    ``DJNG_APP_DIR`` if set; else the folder of the script Python is running
    (``python app.py``); else the folder of the first app handed to
    ``djng.wsgi()`` (as under gunicorn). None when there is no such folder, for
    example in a REPL: then djng never falls back to the working directory.
    """
    configured = os.environ.get("DJNG_APP_DIR")
    if configured:
        return Path(configured).resolve()
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and not _is_installed_code(main_file):
        return Path(main_file).resolve().parent
    return _served_app_dir


_served_app_dir: Path | None = None


def note_app_file(filename: str | None) -> None:
    """Remember where the first served app is defined (for :func:`app_dir`)."""
    global _served_app_dir
    if _served_app_dir is None and filename and not _is_installed_code(filename):
        path = Path(filename)
        if path.is_file():
            _served_app_dir = path.resolve().parent


def _is_installed_code(filename: str) -> bool:
    """True for console scripts and installed packages (pytest, gunicorn, ...)."""
    path = os.path.realpath(filename)
    roots = {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()}
    return any(path.startswith(os.path.realpath(root) + os.sep) for root in roots if root)


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


_batteries_lock = threading.Lock()
_batteries = False


def install_batteries() -> None:
    """Install Django's apps behind djng's batteries (:data:`BATTERIES`), then set up.

    Before the app registry is populated they are simply added to
    ``INSTALLED_APPS``; after, they are installed the way ``populate()`` does it
    (configs, then models, then ``ready()``). A host that configured Django itself
    keeps its own ``INSTALLED_APPS``.
    """
    global _batteries
    if _batteries:
        return
    with _batteries_lock:
        if _batteries:
            return
        from django.apps import apps

        missing = [name for name in BATTERIES if name not in settings.INSTALLED_APPS]
        if owns_settings and missing:
            if apps.ready:
                _install_apps(missing)
            else:
                settings.INSTALLED_APPS = [*missing, *settings.INSTALLED_APPS]
        setup()
        _batteries = True


def _install_apps(names: list[str]) -> None:
    from django.apps import AppConfig, apps

    configs = [AppConfig.create(name) for name in names]
    for config in configs:
        config.apps = apps
        config.models = apps.all_models[config.label]  # as import_models() sets it
    apps.app_configs = {**apps.app_configs, **{config.label: config for config in configs}}
    for config in configs:
        config.import_models()
    apps.clear_cache()
    for config in configs:
        config.ready()
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *names]
    registry_changed()


def registry_changed() -> None:
    """Forget what Django cached about the installed apps (template folders, commands)."""
    from django.template.utils import get_app_template_dirs

    get_app_template_dirs.cache_clear()
    management = sys.modules.get("django.core.management")
    if management is not None:
        management.get_commands.cache_clear()
