"""djng.health() against real (and unreachable) PostgreSQL and Redis servers."""

from __future__ import annotations

import json

import pytest
from conftest import free_port
from django.db import connections

import djng

PASSWORD = "hunter2-s3cret"


@pytest.fixture
def backends(database_url, redis_url, redis_prefix):
    """(database, cache) that are up: this test's own database and key prefix."""
    return djng.db.Database(database_url), djng.cache.Redis(redis_url, key_prefix=redis_prefix)


@pytest.fixture
def unreachable_database():
    """A PostgreSQL URL (with a password) to a port where nothing listens."""
    database = djng.db.Database(f"postgres://ada:{PASSWORD}@127.0.0.1:{free_port()}/shop")
    yield database
    connections[database.alias].close()


def _unreachable_cache():
    return djng.cache.Redis(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")


def _check(app, database, cache):
    with djng.db.use(database), djng.cache.use(cache):
        response = djng.testing.Client(app).get("/health")
    body = json.loads(response.content)
    assert PASSWORD not in response.content.decode()
    return response.status_code, body


def test_all_up_is_200_with_each_check_ok(backends):
    database, cache = backends
    status, body = _check(djng.health(["db", "cache"]), database, cache)
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"db", "cache"}
    for entry in body["checks"].values():
        assert entry["ok"] is True
        assert "error" not in entry


def test_redis_down_is_503_naming_cache(backends):
    database, _ = backends
    app = djng.health(["db", "cache"], details=True)
    status, body = _check(app, database, _unreachable_cache())
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["db"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is False
    assert "ConnectionError" in body["checks"]["cache"]["error"]


def test_postgres_down_is_503_naming_db(backends, unreachable_database):
    _, cache = backends
    status, body = _check(djng.health(["db", "cache"], details=True), unreachable_database, cache)
    assert status == 503
    assert body["checks"]["cache"]["ok"] is True
    assert body["checks"]["db"]["ok"] is False
    assert "OperationalError" in body["checks"]["db"]["error"]


def test_the_public_gets_names_and_states_and_the_log_gets_the_details(
    unreachable_database, caplog
):
    """Internal hosts and ports stay out of a public health answer (they are logged)."""
    import logging

    staff_only = djng.health(["db"], details=lambda request: "X-Staff" in request.headers)
    with djng.db.use(unreachable_database), caplog.at_level(logging.WARNING, logger="djng"):
        client = djng.testing.Client(staff_only)
        public = client.get("/")
        staff = client.get("/", headers={"X-Staff": "1"})
    assert public.status_code == staff.status_code == 503
    assert public.json()["checks"]["db"].keys() == {"ok", "ms"}
    assert "127.0.0.1" not in public.text and "OperationalError" not in public.text
    assert "OperationalError" in staff.json()["checks"]["db"]["error"]
    logged = [r.getMessage() for r in caplog.records if r.name == "djng.health"]
    assert logged and "OperationalError" in logged[0] and PASSWORD not in logged[0]


def test_both_down_names_both(unreachable_database):
    status, body = _check(djng.health(["db", "cache"]), unreachable_database, _unreachable_cache())
    assert status == 503
    assert {name for name, entry in body["checks"].items() if not entry["ok"]} == {"db", "cache"}


def test_health_checks_the_pushed_backends(backends, unreachable_database):
    database, cache = backends
    checks = djng.health(["db", "cache"])

    def app(request):
        if request.headers.get("X-Broken") == "1":
            djng.db.push(unreachable_database)
        return checks(request)

    with djng.db.use(database), djng.cache.use(cache):
        client = djng.testing.Client(app)
        assert client.get("/", headers={"X-Broken": "1"}).status_code == 503
        assert client.get("/").status_code == 200


def test_redis_refusing_the_password_never_shows_it(redis_url, backends):
    # A real Redis has no user "djng-nobody" and refuses to log in: the error is
    # reported, the password never.
    database, _ = backends
    scheme, rest = redis_url.split("://", 1)
    wrong = djng.cache.Redis(f"{scheme}://djng-nobody:{PASSWORD}@{rest.rpartition('@')[2]}")
    status, body = _check(djng.health(["cache"], details=True), database, wrong)
    assert status == 503
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["cache"]["error"]


def test_custom_checks(backends):
    database, cache = backends
    calls = []

    def queue():
        calls.append("queue")

    def disk_full():
        return False

    def payments():
        raise RuntimeError(f"cannot reach https://shop:{PASSWORD}@payments.example.com/api")

    app = djng.health(["db", queue, ("disk", disk_full), payments], details=True)
    status, body = _check(app, database, cache)
    assert calls == ["queue"]
    assert status == 503
    checks = body["checks"]
    assert list(checks) == ["db", "queue", "disk", "payments"]
    assert checks["db"]["ok"] is True
    assert checks["queue"]["ok"] is True
    assert checks["disk"] == {"ok": False, "ms": checks["disk"]["ms"],
                              "error": "the check returned False"}
    assert checks["payments"]["ok"] is False
    assert "RuntimeError" in checks["payments"]["error"]
    assert "payments.example.com" in checks["payments"]["error"]


def test_custom_checks_all_passing_is_200(backends):
    database, cache = backends
    status, body = _check(djng.health([("always", lambda: True), "cache"]), database, cache)
    assert status == 200
    assert body["checks"]["always"]["ok"] is True
