"""djng's services: each one a context-local stack of swappable backends.

Each ``services/<name>.py`` declares everything about its service (backends,
URL schemes, environment variables, the Django settings of its delegating
backend, its health check); :data:`SERVICES` is the registry that
``djng.conf``, ``djng.health``, ``djng.reconfigure`` and start-up iterate.
"""

import os

from .cache import cache
from .clients import clients
from .db import db
from .debug import debug
from .errors import errors
from .hosts import hosts
from .mail import mail
from .pubsub import pubsub
from .secrets import secrets
from .settings import settings
from .stack import Service, Use
from .storage import storage
from .templates import templates

#: Every service by the name ``reconfigure()`` takes.
SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        cache, mail, templates, db, storage, debug, errors, secrets, hosts, settings, clients,
        pubsub,
    )
}


def load_environment() -> None:
    """Build the defaults that environment variables name, so a bad URL fails at start-up."""
    for service in SERVICES.values():
        if any(os.environ.get(variable) for variable in service.environ):
            service.default()


def django_settings() -> dict[str, dict]:
    """The Django settings of every service's delegating backend, by service name."""
    return {name: s.django_settings for name, s in SERVICES.items() if s.django_settings}


__all__ = [
    "SERVICES",
    "Service",
    "Use",
    "cache",
    "clients",
    "db",
    "debug",
    "django_settings",
    "errors",
    "hosts",
    "load_environment",
    "mail",
    "pubsub",
    "secrets",
    "settings",
    "storage",
    "templates",
]
