"""examples/counter.py served by a real gunicorn with 4 workers on PostgreSQL and Redis.

Thousands of concurrent requests for three tenants: per-request cache pushes never
leak between workers or requests, and every hit is counted exactly once.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import EXAMPLES, free_port, wait_for_http

from .conftest import pg_query, service_env

TENANTS = ("main", "a", "b")
POSTS = 2000
CLIENTS = 16
REQUEST_TIMEOUT = 20


@pytest.fixture
def counter_server(database_url, redis_url, redis_prefix, spawn):
    """(port, key prefix) of examples/counter.py under gunicorn -w 4."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed in this environment")
    port = free_port()
    separator = "&" if "?" in redis_url else "?"
    env = service_env(
        DJNG_DATABASE_URL=f"{database_url}?conn_max_age=60&conn_health_checks=1",
        DJNG_CACHE_URL=f"{redis_url}{separator}key_prefix={redis_prefix}",
    )
    proc = spawn(
        [str(gunicorn), "--chdir", str(EXAMPLES), "-w", "4", "-b", f"127.0.0.1:{port}",
         "--timeout", "30", "counter:application"],
        env=env,
    )
    status, _, body = wait_for_http(f"http://127.0.0.1:{port}/health", proc, timeout=30)
    assert status == 200, body
    return port, redis_prefix


class Session:
    """One client thread's HTTP connection (kept alive when the server allows it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)

    def request(self, method: str, tenant: str) -> tuple[int, dict]:
        # gunicorn's sync workers answer "Connection: close"; http.client then opens
        # a new connection for the next request by itself.
        self.conn.request(method, "/", headers={"X-Tenant": tenant, "Content-Length": "0"})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.conn.close()


def _run(port: int, jobs: list[tuple[str, str]]) -> list[tuple[str, str, int, dict]]:
    """Send ``jobs`` ((method, tenant) pairs) from CLIENTS threads; every answer, in order."""
    chunks = [jobs[i::CLIENTS] for i in range(CLIENTS)]

    def worker(chunk):
        session = Session(port)
        try:
            return [(method, tenant, *session.request(method, tenant)) for method, tenant in chunk]
        finally:
            session.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(itertools.chain.from_iterable(pool.map(worker, chunks)))


def test_counter_scales_out_without_leaks(counter_server, database_url, redis_client):
    port, prefix = counter_server
    expected_prefix = {"main": prefix, "a": f"{prefix}:a", "b": f"{prefix}:b"}
    tenants = itertools.cycle(TENANTS)
    jobs: list[tuple[str, str]] = []
    for i in range(POSTS):
        jobs.append(("POST", next(tenants)))
        if i % 2:
            jobs.append(("GET", TENANTS[(i * 7) % 3]))

    results = _run(port, jobs)

    assert len(results) == len(jobs)
    ids = set()
    posted = dict.fromkeys(TENANTS, 0)
    for method, tenant, status, body in results:
        if method == "POST":
            assert (status, body["tenant"]) == (201, tenant), body
            ids.add(body["id"])
            posted[tenant] += 1
        else:
            assert status == 200, body
            assert body["tenant"] == tenant, body
            assert body["cache_prefix"] == expected_prefix[tenant], body
    assert len(ids) == POSTS  # every POST got a row of its own

    # Each POST bumped its own tenant's generation, in Redis, under its own prefix.
    for tenant in TENANTS:
        generation = redis_client.get(f"{expected_prefix[tenant]}:1:generation")
        assert generation is not None and int(generation) == posted[tenant], tenant

    rows = dict(pg_query(database_url, "SELECT tenant, count(*) FROM counter_hit GROUP BY tenant"))
    assert rows == posted
    session = Session(port)
    try:
        for tenant in TENANTS:
            status, body = session.request("GET", tenant)
            assert status == 200
            assert body == {
                "count": posted[tenant],
                "tenant": tenant,
                "cache_prefix": expected_prefix[tenant],
            }
    finally:
        session.close()


def test_unknown_tenant_is_refused(counter_server):
    port, _ = counter_server
    session = Session(port)
    try:
        status, body = session.request("GET", f"Bad_{uuid.uuid4().hex}")
    finally:
        session.close()
    assert status == 400
    assert "X-Tenant" in body["error"]
