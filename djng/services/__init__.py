"""djng's services: each one a context-local stack of swappable backends."""

from .cache import cache
from .db import db
from .debug import debug
from .errors import errors
from .mail import mail
from .reconfigure import reconfigure
from .secrets import secrets
from .stack import Service, Use, in_request
from .storage import storage
from .templates import templates

#: Every service by the name ``reconfigure()`` takes.
SERVICES: dict[str, Service] = {
    service.name: service
    for service in (cache, mail, templates, db, storage, debug, errors, secrets)
}



def load_environment() -> None:
    """Build the defaults that environment variables name, so a bad URL fails at start-up."""
    import os

    from .urls import ENVIRONMENT

    for name, (variables, _) in ENVIRONMENT.items():
        if any(os.environ.get(variable) for variable in variables):
            SERVICES[name].default()


__all__ = [
    "SERVICES",
    "Service",
    "Use",
    "cache",
    "db",
    "debug",
    "errors",
    "in_request",
    "load_environment",
    "mail",
    "reconfigure",
    "secrets",
    "storage",
    "templates",
]
