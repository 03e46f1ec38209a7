"""The benchmark harness keeps working: a tiny run prints every row (no timings asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import require, server_url

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_run_prints_the_table_and_saves_it(tmp_path):
    output = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "djng,django", "--quick",
         "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "| work item | djng | Django handler |" in table
    for item in ("hello", "json", "routes100", "post_json", "hello_push", "mounted3", "mounted5",
                 "notfound", "routes1000", "routes1000_miss", "hello_orm", "orm_get",
                 "post_typed", "get_typed_json", "get_msgpack"):
        assert f"(`{item}`)" in table
    for target in ("typed POST (msgspec Struct in and out) ≥ 1.3× untyped `post_json` (djng)",
                   "typed view: MessagePack answer ≥ 1.0× the same object as JSON (djng)"):
        assert re.search(rf"\| {re.escape(target)} \| [\d.]+× \| (yes|NO) \|", table), target
    for figure in ("`djng.cache.current()`", "import time", "resident memory", "## Targets"):
        assert figure in table
    saved = output.read_text()
    assert saved.startswith("# djng benchmark results")
    assert "Command: `python -m bench --only djng,django --quick" in saved
    assert "| plain-text hello (`hello`) |" in saved


def test_bench_asgi_rows_answer_in_process_and_served(tmp_path):
    """The ASGI rows: djng.asgi, Django's ASGIHandler and Starlette each answer their
    items in-process (the worker checks every answer before timing) and under
    uvicorn (server mode checks each server's answer before loading it)."""
    require("starlette", "uvicorn")
    output = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "djng_asgi,django_asgi,starlette", "--quick",
         "--no-micro", "--server", "--servers", "uvicorn", "--server-items", "asgi_hello",
         "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "## In-process ASGI requests/second" in table
    assert "| work item | djng.asgi | Django ASGIHandler | Starlette |" in table
    for item in ("asgi_hello", "asgi_sync_hello", "asgi_hello_push"):
        assert f"(`{item}`)" in table
    for target in ("djng.asgi ≥ 10× Django ASGIHandler", "djng.asgi ≥ 0.4× Starlette",
                   "ASGI sync hello: djng.asgi ≥ 5× Django ASGIHandler",
                   "pushed service ≥ 0.9× djng.asgi async hello",
                   "served async hello (uvicorn, 1 worker): djng.asgi ≥ 0.8× Starlette",
                   "served async hello (uvicorn, 1 worker): djng.asgi ≥ 2× Django ASGIHandler"):
        assert target in table
    served = [line for line in table.splitlines() if line.startswith("| uvicorn, 1 worker")]
    assert len(served) == 1 and "errors" not in served[0], table
    assert "## In-process requests/second" not in table  # no WSGI contender asked for
    assert "| ASGI: async hello (`asgi_hello`) |" in output.read_text()


def test_bench_clients_rows_have_figures(tmp_path):
    """``--clients``: the in-process, loopback (uvicorn) and fan-out rows each get a
    figure and a target line, and the run is saved (no timings asserted)."""
    require("httpx", "uvicorn")
    output = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--clients", "--quick", "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "## Services calling services (`djng.clients`)" in table
    per_call = [line for line in table.splitlines() if " µs (" in line]
    assert len(per_call) == 6, table
    assert all(re.search(r"\| [\d,.]+ µs \([\d,.]+–[\d,.]+\) \| \*\*[\d.]+×\*\* \|$", line)
               for line in per_call), table
    assert re.search(r"one after another [\d,.]+ ms .*`asyncio.gather` [\d,.]+ ms", table)
    for target in ("in-process Cluster call ≤ 2× a direct test-client request",
                   "loopback call (uvicorn): `djng.clients` ≤ 1.2× raw httpx",
                   "loopback call (uvicorn), async: `djng.clients` ≤ 1.2× raw httpx",
                   "fan-out of 50 calls to a 20 ms callee: gathered ≥ 10× sequential"):
        assert re.search(rf"\| {re.escape(target)} \| [\d.]+× \| (yes|NO) \|", table), target
    assert "Command: `python -m bench --clients --quick" in output.read_text()


def test_bench_push_rows_have_figures(tmp_path):
    """``--push --quick``: 10 SSE subscribers over Redis under uvicorn (djng, then the
    bare ASGI app it is read against), 20 idle
    connections; the latency, memory and CPU rows each get a figure and a target
    line, and the run is saved (no timings asserted)."""
    require("redis", "uvicorn")
    url = server_url("DJNG_TEST_REDIS_URL", "Redis", "redis://127.0.0.1:6379/0")
    output = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["DJNG_TEST_REDIS_URL"] = url
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--push", "--quick", "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "## Push to browsers" in table
    assert re.search(r"\| deliveries \| [\d,]+ of 200; \d+ of 10 streams got every message", table)
    # djng's figures, then the bare ASGI app's
    assert re.search(r"\| latency p50 / p99 / max \| [\d.]+ / [\d.]+ / [\d.]+ ms \| "
                     r"[\d.]+ / [\d.]+ / [\d.]+ ms \|", table)
    assert re.search(r"\| heartbeats every 1 s, over 1.5 s \| \d+ of 20 clients got one;", table)
    for target, unit in (("10 subscribers: p50 ≤ 2 ms", "ms"),
                         ("10 subscribers: p99 ≤ 10 ms", "ms"),
                         ("20 idle SSE connections (heartbeat 1 s): RSS < 200 MiB", "MiB"),
                         ("20 idle SSE connections, no heartbeat due: server CPU ≤ 1% of one core",
                          "%")):
        assert re.search(rf"\| [^|]*{re.escape(target)} \| [\d.]+ ?{unit} \| (yes|NO) \|", table), \
            target
    assert "Command: `python -m bench --push --quick" in output.read_text()


def test_bench_checks_status_content_type_and_body():
    """An item's check holds the answer to its status, its Content-Type and its body:
    the typed rows' answers are decoded and compared with the payload."""
    import json

    import msgspec

    from bench.items import BY_NAME, PAYLOAD_DOC, problem

    as_json, as_msgpack = json.dumps(PAYLOAD_DOC).encode(), msgspec.msgpack.encode(PAYLOAD_DOC)
    msgpack_row, json_row = BY_NAME["get_msgpack"], BY_NAME["get_typed_json"]
    assert problem(msgpack_row, "200 OK", "application/msgpack", as_msgpack) == ""
    assert problem(json_row, "200 OK", "application/json; charset=utf-8", as_json) == ""
    assert "content type" in problem(msgpack_row, "200 OK", "application/json", as_json)
    assert "status" in problem(json_row, "500 Internal Server Error", "application/json", b"")
    wrong = dict(PAYLOAD_DOC, id=1)
    assert "body" in problem(json_row, "200 OK", "application/json", json.dumps(wrong).encode())
    assert problem(msgpack_row, "200 OK", "application/msgpack", b"\xc1")  # not MessagePack
    assert BY_NAME["get_msgpack"].accept == "application/msgpack"
