"""Django's handler in a worker whose database connection is in use: the ORM rows.

The same URLconfs as ``django_handler``, in a process of its own, because once a
Django worker thread has used its database connection, Django's per-request
housekeeping walks it on every later request, and the plain rows must not pay that.
"""

from __future__ import annotations

from . import django_handler
from .django_handler import activate  # noqa: F401


def build() -> dict:
    return {k: v for k, v in django_handler.build().items() if k in ("hello_orm", "orm_get")}
