"""The contenders. Each module's ``build()`` returns ``{item name: WSGI callable}``
and may define ``activate(item name)``, called before a batch of that item.

Each contender runs in its own process (Django can be configured once per process).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Contender:
    name: str
    label: str
    module: str
    requires: str


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender("djng", "djng", "djng_app", "django"),
        Contender("django", "Django handler", "django_handler", "django"),
        Contender("django_db", "Django handler, database in use", "django_handler_db", "django"),
        Contender("floor", "Django req/resp", "django_floor", "django"),
        Contender("flask", "Flask", "flask_app", "flask"),
        Contender("falcon", "Falcon", "falcon_app", "falcon"),
        Contender("bottle", "Bottle", "bottle_app", "bottle"),
        Contender("bare", "bare WSGI", "bare", "json"),
    )
}

#: The contender every ratio is taken against.
BASELINE = "django"


def available(name: str) -> bool:
    """True when the package the contender needs is installed."""
    return importlib.util.find_spec(CONTENDERS[name].requires) is not None
