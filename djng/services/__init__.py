"""djng's services: each one a context-local stack of swappable backends."""

from .cache import cache
from .db import db
from .debug import debug
from .errors import errors
from .mail import mail
from .reconfigure import reconfigure
from .stack import Service, Use, in_request
from .storage import storage
from .templates import templates

#: Every service by the name ``reconfigure()`` takes.
SERVICES: dict[str, Service] = {
    service.name: service for service in (cache, mail, templates, db, storage, debug, errors)
}

__all__ = [
    "SERVICES",
    "Service",
    "Use",
    "cache",
    "db",
    "debug",
    "errors",
    "in_request",
    "mail",
    "reconfigure",
    "storage",
    "templates",
]
