"""The contenders. Each module's ``build()`` returns ``{item name: WSGI callable}``
(an ASGI contender's: ``{item name: ASGI application}``) and may define
``activate(item name)``, called before a batch of that item.

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
    #: "wsgi" or "asgi": what ``build()`` returns (and which items and servers apply).
    interface: str = "wsgi"


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
        Contender("djng_asgi", "djng.asgi", "djng_asgi", "django", "asgi"),
        Contender("django_asgi", "Django ASGIHandler", "django_asgi", "django", "asgi"),
        Contender("starlette", "Starlette", "starlette_app", "starlette", "asgi"),
    )
}

#: The contender every ratio is taken against, by interface.
BASELINES = {"wsgi": "django", "asgi": "django_asgi"}
BASELINE = BASELINES["wsgi"]


def available(name: str) -> bool:
    """True when the package the contender needs is installed."""
    return importlib.util.find_spec(CONTENDERS[name].requires) is not None
