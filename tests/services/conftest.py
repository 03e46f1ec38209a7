"""Fixtures for the service tests: every test starts from, and leaves, the same defaults."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from djng.services import SERVICES


@pytest.fixture(autouse=True)
def restore_service_defaults(monkeypatch):
    """Snapshot each service's configured default and put it back after the test.

    Tests may call ``S.configure()`` and ``S.reset()`` freely. Django's 'default'
    database alias (which mirrors ``djng.db``'s default) is restored too. No test
    finds a folder of its own for the embedded defaults unless it sets one.
    """
    for name in ("DJNG_APP_DIR", "DJNG_DATABASE_URL", "DATABASE_URL", "DJNG_CACHE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DJNG_EMAIL_URL", raising=False)
    saved = {name: svc._default for name, svc in SERVICES.items()}
    saved_default_db = dict(connections.settings[DEFAULT_DB_ALIAS])
    _forget_default_connection()
    try:
        yield
    finally:
        for name, svc in SERVICES.items():
            with svc._lock:
                svc._default = saved[name]
        _forget_default_connection()
        default = connections.settings[DEFAULT_DB_ALIAS]
        default.clear()
        default.update(saved_default_db)


def _forget_default_connection() -> None:
    """Close and drop this thread's wrapper for Django's 'default' alias, if it has one."""
    if hasattr(connections._connections, DEFAULT_DB_ALIAS):
        connections[DEFAULT_DB_ALIAS].close()
        del connections[DEFAULT_DB_ALIAS]
