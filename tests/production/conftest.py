"""Fixtures for the production-backend tests: real Redis and PostgreSQL servers.

``DJNG_TEST_REDIS_URL`` and ``DJNG_TEST_POSTGRES_URL`` name the servers. A test
that needs one is skipped when its variable is unset, or fails instead when
``DJNG_REQUIRE_SERVICES=1`` (as in CI). Every test gets its own Redis key prefix
(its keys are deleted afterwards) and its own PostgreSQL database (dropped).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, TIMEOUT, child_env
from conftest import server_url as _server_url
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

#: The environment variables that set process defaults; subprocess tests clear them.
URL_VARIABLES = ("DJNG_CACHE_URL", "DJNG_DATABASE_URL", "DATABASE_URL", "DJNG_EMAIL_URL")



@pytest.fixture
def redis_url() -> str:
    """The test Redis server, e.g. redis://127.0.0.1:6379/0."""
    return _server_url("DJNG_TEST_REDIS_URL", "Redis", "redis://127.0.0.1:6379/0")


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test."""
    return _server_url(
        "DJNG_TEST_POSTGRES_URL", "PostgreSQL", "postgres://postgres@127.0.0.1:5432/test"
    )


# -- Redis -----------------------------------------------------------------------------


@pytest.fixture
def redis_client(redis_url):
    """redis-py talking to the test server directly (not through djng)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_prefix(redis_client):
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"djng-test-{uuid.uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            redis_client.delete(*keys)


# -- PostgreSQL ----------------------------------------------------------------------


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.fixture
def make_database(postgres_url):
    """``make_database()`` creates a fresh PostgreSQL database and returns its URL.

    At teardown this thread's Django connections to it are closed, their aliases
    forgotten, and the database dropped (``WITH (FORCE)``: servers the test
    started may still hold connections).
    """
    import psycopg

    names: list[str] = []

    def _make() -> str:
        name = f"djng_test_{uuid.uuid4().hex}"
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return urlsplit(postgres_url)._replace(path=f"/{name}").geturl()

    yield _make

    if not names:
        return
    stale = [alias for alias, config in connections.settings.items()
             if alias != DEFAULT_DB_ALIAS and config.get("NAME") in names]
    for alias in stale:
        if hasattr(connections._connections, alias):
            connections[alias].close()
            del connections[alias]
    remaining = {k: v for k, v in connections.settings.items() if k not in stale}
    connections.settings = remaining
    settings.DATABASES = remaining
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(make_database) -> str:
    """The URL of a fresh PostgreSQL database of this test's own."""
    return make_database()


def pg_query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` run directly with psycopg (autocommit), not through Django."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


# -- process defaults and subprocesses ------------------------------------------------


def service_env(**variables: str) -> dict[str, str]:
    """A child environment with exactly these DJNG_*_URL / DATABASE_URL variables."""
    env = {k: v for k, v in child_env().items() if k not in URL_VARIABLES}
    env.update(variables)
    return env


def run_python_env(code: str, **variables: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with these URL variables (and no others)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=service_env(**variables),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
