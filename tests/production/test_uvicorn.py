"""djng.asgi() served by a real uvicorn (one worker process) over loopback.

Each test writes an app module to its own folder and starts ``python -m uvicorn``
on it as a subprocess (killed when the test ends, ``spawn``). What is checked:
per-request service stacks under 200 concurrent requests, sync views on djng's
worker threads and async ones on the loop, streams that really stream (and stop
when the client leaves), PostgreSQL connections bounded by ``threads``, the
blocked-loop warning, and the ASGI lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import TIMEOUT, free_port, require, wait_for_file, wait_for_http

from .conftest import database_name, pg_query, service_env

#: Seconds any single network read or request of these tests may take.
NET_TIMEOUT = 10


# -- the apps ----------------------------------------------------------------------------

#: Most tests' app: one module, one route per behaviour.
APP = '''
import asyncio
import os
import random
import threading
import time
from pathlib import Path

import django.core.cache
from asgiref.sync import sync_to_async
from django.db import models

import djng

FOLDER = Path(__file__).resolve().parent
djng.registry.setup()


class Note(models.Model):
    text = models.CharField(max_length=100)

    class Meta:
        app_label = "uvicorn_tests"


def mark(name, text=""):
    (FOLDER / name).write_text(text)


async def isolated(request):
    """Push a cache and a database of this request's own, wait, and read both back."""
    n = request.GET["n"]
    djng.cache.push(djng.cache.LocMem(f"cache-{n}"))
    djng.db.push(djng.db.SQLite(FOLDER / f"db-{n}.sqlite3"))
    await asyncio.sleep(random.uniform(0, 0.03))  # other requests push theirs meanwhile
    await django.core.cache.cache.aset("who", n)
    await sync_to_async(djng.db.create_tables)(Note)
    await Note.objects.acreate(text=n)
    await asyncio.sleep(random.uniform(0, 0.03))
    return {
        "n": n,
        "cache": await django.core.cache.cache.aget("who"),
        "cache_name": djng.cache.current().name,
        "db_alias": djng.db.current().alias,
        "db_file": Path(djng.db.current().settings["NAME"]).name,
        "texts": [text async for text in Note.objects.values_list("text", flat=True)],
    }


async def peek(request):
    """What a request that pushes nothing sees: the process defaults."""
    return {
        "cache": await django.core.cache.cache.aget("who"),
        "cache_name": getattr(djng.cache.current(), "name", None),
        "db_alias": djng.db.current().alias,
    }


def sync_echo(request):
    time.sleep(random.uniform(0, 0.01))
    return {"n": int(request.GET["n"]) * 2, "thread": threading.current_thread().name}


async def async_echo(request):
    await asyncio.sleep(random.uniform(0, 0.01))
    return {"n": int(request.GET["n"]) * 3, "thread": threading.current_thread().name}


#: tag -> the asyncio.Event that lets the stream of that tag go on, and what it produced.
GATES = {}
PRODUCED = {}


def gate(tag):
    return GATES.setdefault(tag, asyncio.Event())


async def sse(request):
    tag = request.GET["tag"]
    produced = PRODUCED.setdefault(tag, [])

    async def events():
        produced.append("first")
        yield b"id: 1\\ndata: first\\n\\n"
        try:
            await asyncio.wait_for(gate(tag).wait(), 15)
        except TimeoutError:
            yield b"data: timed-out\\n\\n"
            return
        produced.append("second")
        yield b"id: 2\\ndata: second\\n\\n"

    return djng.StreamingResponse(events(), content_type="text/event-stream")


async def release(request):
    tag = request.GET["tag"]
    before = list(PRODUCED.get(tag, ()))
    gate(tag).set()
    return {"produced_before_release": before}


def sync_stream(request):
    """A sync generator: its second chunk waits for a file the client creates."""
    tag = request.GET["tag"]

    def chunks():
        yield b"chunk-1;"
        deadline = time.monotonic() + 15
        while not (FOLDER / f"go-{tag}").exists():
            if time.monotonic() > deadline:
                yield b"timed-out;"
                return
            time.sleep(0.01)
        yield b"chunk-2;"

    return djng.StreamingResponse(chunks(), content_type="text/plain")


class Marked(djng.StreamingResponse):
    """A stream that leaves a marker file when the server closes it."""

    def __init__(self, content, tag, **kwargs):
        super().__init__(content, **kwargs)
        self.tag = tag

    def close(self):
        try:
            super().close()
        finally:
            mark(f"closed-{self.tag}")


async def endless(request):
    """An async stream that sends one event, then waits (up to 30 s) for nothing."""
    tag = request.GET["tag"]

    async def events():
        try:
            yield b"data: first\\n\\n"
            await asyncio.sleep(30)
            yield b"data: too-late\\n\\n"
        finally:
            mark(f"finally-{tag}")

    return Marked(events(), tag, content_type="text/event-stream")


def endless_sync(request):
    """A sync stream that sends a comment every 20 ms (for up to 30 s) after its event."""
    tag = request.GET["tag"]

    def chunks():
        try:
            yield b"data: first\\n\\n"
            for _ in range(1500):
                time.sleep(0.02)
                yield b": tick\\n\\n"
        finally:
            mark(f"finally-{tag}")

    return Marked(chunks(), tag, content_type="text/event-stream")


async def blocking(request):
    mark("blocking")
    time.sleep(1.5)  # BLOCKING LINE
    return {"blocked": True}


async def fast(request):
    return {"fast": True}


app = djng.Router(
    djng.path("isolated", isolated),
    djng.path("peek", peek),
    djng.path("sync", sync_echo),
    djng.path("async", async_echo),
    djng.path("sse", sse),
    djng.path("release", release),
    djng.path("sync-stream", sync_stream),
    djng.path("endless", endless),
    djng.path("endless-sync", endless_sync),
    djng.path("block", blocking),
    djng.path("fast", fast),
)
application = djng.asgi(app, threads=int(os.environ.get("APP_THREADS", "8")))
'''

#: The PostgreSQL app: the process default database comes from DJNG_DATABASE_URL.
PG_APP = '''
import threading

from asgiref.sync import sync_to_async

import djng


def query(request):
    with djng.db.current().connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_database(), pg_sleep(0.02)")
        pid, name, _ = cursor.fetchone()
    return {"pid": pid, "database": name, "thread": threading.current_thread().name}


async def aquery(request):
    """An async view whose queries go through sync_to_async, as Django's async ORM's do."""
    first = await sync_to_async(query)(request)
    second = await sync_to_async(query)(request)
    assert first["pid"] == second["pid"], (first, second)  # one request, one thread
    return first


application = djng.asgi(djng.Router(djng.path("q", query), djng.path("aq", aquery)), threads=2)
'''


#: The lifespan app: start-up and shutdown hooks that leave marker files.
LIFESPAN_APP = '''
import os
import time
from pathlib import Path

import djng

FOLDER = Path(__file__).resolve().parent
LOG = FOLDER / "lifespan.log"


def log(event):
    with LOG.open("a") as file:
        file.write(event + "\\n")


def startup():
    (FOLDER / "starting").touch()
    if os.environ.get("STARTUP_GATE"):  # hold start-up until the test says go (up to 10 s)
        deadline = time.monotonic() + 10
        while not (FOLDER / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    log("startup")


async def shutdown():
    log("shutdown")


async def seen(request):
    log("request")
    return {"log": LOG.read_text().split()}


application = djng.asgi(djng.lifespan(djng.Router(djng.path("seen", seen)),
                                      startup=startup, shutdown=shutdown))
'''


#: An async view a client leaves while it waits; request_finished leaves a marker each time.
WAITING_APP = '''
import asyncio
import uuid
from pathlib import Path

from django.core.signals import request_finished

import djng

FOLDER = Path(__file__).resolve().parent


def finished(sender, **kwargs):
    (FOLDER / f"finished-{uuid.uuid4().hex}").touch()


request_finished.connect(finished, weak=False)


async def wait(request):
    tag = request.GET["tag"]
    (FOLDER / f"waiting-{tag}").touch()
    try:
        await asyncio.sleep(30)
    finally:
        (FOLDER / f"view-finally-{tag}").touch()
    return "too late"


async def fast(request):
    return {"fast": True}


application = djng.asgi(djng.Router(djng.path("wait", wait), djng.path("fast", fast)))
'''


# -- the server --------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self, sig: int = signal.SIGTERM) -> tuple[str, str]:
        """Stop uvicorn with ``sig`` (a graceful shutdown) and return its (stdout, stderr)."""
        self.proc.send_signal(sig)
        try:
            return self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"uvicorn did not exit within {TIMEOUT}s of signal {sig!r}")


@pytest.fixture
def serve(tmp_path, spawn):
    """``serve(source, ...)`` writes ``source`` as tmp_path/app.py and serves its
    ``application`` with ``uvicorn --workers 1``; the process is killed at the end.
    ``ready`` is the path polled until it answers 200 (None: until the port accepts)."""
    require("uvicorn", "httpx")

    def _serve(
        source: str, ready: str | None = "/fast", env: dict | None = None, lifespan: str = "on"
    ) -> Server:
        (tmp_path / "app.py").write_text(textwrap.dedent(source))
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "app:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--app-dir", str(tmp_path), "--lifespan", lifespan, "--no-access-log",
            "--timeout-graceful-shutdown", "5",
        ]
        proc = spawn(command, cwd=tmp_path, env=service_env(**(env or {})))
        if ready is None:
            wait_for_port(port, proc)
        else:
            status, _, body = wait_for_http(f"http://127.0.0.1:{port}{ready}", proc)
            assert status == 200, body
        return Server(proc, port, tmp_path)

    return _serve


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = TIMEOUT) -> None:
    """Wait until the server accepts connections, without sending it a request."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"server exited with {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"port {port} did not accept connections within {timeout}s")


def read_until(chunks, buffer: bytearray, marker: bytes, count: int = 1) -> None:
    """Read from the iterator ``chunks`` into ``buffer`` until ``marker`` occurs ``count`` times."""
    while buffer.count(marker) < count:
        try:
            buffer.extend(next(chunks))
        except StopIteration:
            pytest.fail(f"the stream ended before {count} x {marker!r}: {bytes(buffer)!r}")


# -- 1. per-request services under 200 concurrent requests ---------------------------------


def test_200_concurrent_requests_each_see_only_their_own_cache_and_database(serve):
    import httpx

    server = serve(APP)
    count = 200

    async def main():
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(base_url=server.url, limits=limits,
                                     timeout=NET_TIMEOUT * 2) as client:
            responses = await asyncio.gather(
                *(client.get("/isolated", params={"n": str(n)}) for n in range(count))
            )
            after = await client.get("/peek")
        return responses, after

    responses, after = asyncio.run(main())
    aliases = set()
    for n, response in enumerate(responses):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["n"] == str(n)
        assert body["cache"] == str(n), body
        assert body["cache_name"] == f"cache-{n}", body
        assert body["db_file"] == f"db-{n}.sqlite3", body
        assert body["texts"] == [str(n)], body
        aliases.add(body["db_alias"])
    assert len(aliases) == count
    # Each request's row went to its own file, and only there.
    for n in range(count):
        with contextlib.closing(sqlite3.connect(server.folder / f"db-{n}.sqlite3")) as conn:
            assert conn.execute("SELECT text FROM uvicorn_tests_note").fetchall() == [(str(n),)]
    # Nothing leaked into the process defaults.
    assert after.status_code == 200, after.text
    default = after.json()
    assert default["cache"] is None
    assert not str(default["cache_name"]).startswith("cache-")
    assert default["db_alias"] not in aliases


# -- 2. sync views on worker threads, async views on the loop ------------------------------


def test_sync_and_async_views_interleaved(serve):
    import httpx

    server = serve(APP, env={"APP_THREADS": "4"})

    async def main():
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server.url, limits=limits,
                                     timeout=NET_TIMEOUT) as client:
            calls = []
            for n in range(50):
                calls.append(client.get("/sync", params={"n": n}))
                calls.append(client.get("/async", params={"n": n}))
            return await asyncio.gather(*calls)

    responses = asyncio.run(main())
    assert len(responses) == 100
    sync_threads = set()
    for index, response in enumerate(responses):
        n, is_async = divmod(index, 2)
        assert response.status_code == 200, response.text
        body = response.json()
        if is_async:
            assert body == {"n": n * 3, "thread": "MainThread"}
        else:
            assert body["n"] == n * 2
            assert body["thread"].startswith("djng-worker"), body
            sync_threads.add(body["thread"])
    assert sync_threads


# -- 3. streams arrive as they are produced ------------------------------------------------


def test_async_event_stream_arrives_before_its_next_event_is_produced(serve):
    import httpx

    server = serve(APP)
    tag = uuid.uuid4().hex
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        with client.stream("GET", "/sse", params={"tag": tag}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert "content-length" not in response.headers
            chunks = response.iter_raw()
            received = bytearray()
            read_until(chunks, received, b"\n\n")
            assert bytes(received) == b"id: 1\ndata: first\n\n"
            # The generator is parked on its gate: the second event does not exist yet.
            released = client.get("/release", params={"tag": tag})
            assert released.json() == {"produced_before_release": ["first"]}
            read_until(chunks, received, b"\n\n", count=2)
            assert bytes(received) == b"id: 1\ndata: first\n\nid: 2\ndata: second\n\n"
            assert b"".join(chunks) == b""


def test_sync_generator_stream_is_not_buffered(serve):
    import httpx

    server = serve(APP)
    tag = uuid.uuid4().hex
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        with client.stream("GET", "/sync-stream", params={"tag": tag}) as response:
            assert response.status_code == 200
            assert "content-length" not in response.headers
            chunks = response.iter_raw()
            received = bytearray()
            # Buffered, this read would time out: the generator cannot finish until
            # the file below exists.
            read_until(chunks, received, b";")
            assert bytes(received) == b"chunk-1;"
            (server.folder / f"go-{tag}").touch()
            received.extend(b"".join(chunks))
    assert bytes(received) == b"chunk-1;chunk-2;"


# -- 4. a client that leaves mid-stream ----------------------------------------------------


def _leave_after_first_event(server: Server, path: str) -> None:
    """GET ``path`` over a raw socket, read up to the first event, then hang up."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=NET_TIMEOUT) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while b"data: first" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                pytest.fail(f"the server closed the stream before its first event: {received!r}")
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("route", ["endless", "endless-sync"])
def test_disconnect_mid_stream_runs_finally_and_closes_the_response(serve, route):
    import httpx

    server = serve(APP)
    tag = uuid.uuid4().hex
    left = time.monotonic()
    _leave_after_first_event(server, f"/{route}?tag={tag}")
    wait_for_file(server.folder / f"finally-{tag}")
    wait_for_file(server.folder / f"closed-{tag}")
    assert time.monotonic() - left < NET_TIMEOUT  # well before the stream's own 30 s end
    # The server is still fine, and its worker was given back.
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        assert client.get("/sync", params={"n": 1}).json()["n"] == 2


def test_client_leaving_while_waiting_for_a_worker_thread_does_not_keep_one(serve):
    import httpx

    server = serve(APP, env={"APP_THREADS": "1"})
    tag = uuid.uuid4().hex
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        with client.stream("GET", "/sync-stream", params={"tag": tag}) as holder:
            chunks = holder.iter_raw()
            received = bytearray()
            read_until(chunks, received, b";")  # the only worker thread is held from here
            with socket.create_connection(("127.0.0.1", server.port), timeout=NET_TIMEOUT) as sock:
                sock.sendall(b"GET /sync?n=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                time.sleep(0.3)  # let it queue for the thread, then leave
            (server.folder / f"go-{tag}").touch()
            received.extend(b"".join(chunks))
        assert bytes(received) == b"chunk-1;chunk-2;"
        # The thread went back to the pool, not to the request that left.
        for n in range(3):
            assert client.get("/sync", params={"n": n}).json()["n"] == n * 2


def _leave_a_waiting_view(server: Server) -> str:
    """GET /wait, and hang up once the view waits; the request's tag."""
    tag = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", server.port), timeout=NET_TIMEOUT) as sock:
        sock.sendall(f"GET /wait?tag={tag} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        wait_for_file(server.folder / f"waiting-{tag}")
    return tag


def _finished_count(server: Server, count: int, timeout: float = 3) -> int:
    """How many times request_finished fired, once ``count`` or after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while (seen := len(list(server.folder.glob("finished-*")))) < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return seen


def test_disconnect_during_an_async_view_cancels_it(serve):
    import httpx

    server = serve(WAITING_APP)
    tag = _leave_a_waiting_view(server)
    wait_for_file(server.folder / f"view-finally-{tag}")  # cancelled where it awaited
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        assert client.get("/fast").json() == {"fast": True}


def test_disconnect_during_an_async_view_still_sends_request_finished(serve):
    server = serve(WAITING_APP)
    assert _finished_count(server, 1) == 1  # the readiness probe's
    tag = _leave_a_waiting_view(server)
    wait_for_file(server.folder / f"view-finally-{tag}")
    assert _finished_count(server, 2) == 2


# -- 5. PostgreSQL connections are bounded by the worker threads ----------------------------


def _server_connections(postgres_url: str, name: str) -> int:
    """Client connections to database ``name`` (this query's own is to another one)."""
    rows = pg_query(
        postgres_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        (name,),
    )
    return rows[0][0]


def test_postgres_connections_are_reused_by_two_worker_threads(
    serve, database_url, postgres_url, capsys
):
    import httpx

    name = database_name(database_url)
    server = serve(PG_APP, ready="/q",
                   env={"DJNG_DATABASE_URL": f"{database_url}?conn_max_age=60"})

    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        sequential = [client.get("/q").json() for _ in range(20)]
    assert {body["database"] for body in sequential} == {name}
    sequential_pids = {body["pid"] for body in sequential}
    after_sequential = _server_connections(postgres_url, name)

    async def concurrent():
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(base_url=server.url, limits=limits,
                                     timeout=NET_TIMEOUT) as client:
            return await asyncio.gather(*(client.get(path) for _ in range(10)
                                          for path in ("/q", "/aq")))

    responses = asyncio.run(concurrent())
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json()["thread"].startswith("djng-worker"), response.text
    concurrent_pids = {response.json()["pid"] for response in responses}
    after_concurrent = _server_connections(postgres_url, name)
    with capsys.disabled():
        print(f"\n[uvicorn+djng.asgi(threads=2)] sequential: {len(sequential_pids)} backend(s), "
              f"{after_sequential} open; concurrent: {len(concurrent_pids)} backend(s), "
              f"{after_concurrent} open", file=sys.stderr)

    # Usually one: a request takes the thread the last one gave back. A request that
    # arrives while the last one is still closing (after its body was sent) takes
    # the second thread.
    assert len(sequential_pids) <= 2
    assert after_sequential <= 2
    assert len(sequential_pids | concurrent_pids) <= 2
    assert after_concurrent <= 2

    # A graceful stop closes the worker threads' connections.
    server.terminate()
    deadline = time.monotonic() + NET_TIMEOUT
    while _server_connections(postgres_url, name):
        if time.monotonic() > deadline:
            pytest.fail("the server's connections stayed open after it shut down")
        time.sleep(0.05)


# -- 6. an async view that blocks the loop ---------------------------------------------------


def test_blocked_loop_is_reported_with_the_views_line(serve):
    import httpx

    server = serve(APP, env={"DJNG_BLOCKED_LOOP_SECONDS": "0.5"})
    source = (server.folder / "app.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "# BLOCKING LINE" in text)
    results: dict[str, object] = {}

    def get(path: str) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
                results[path] = client.get(path)
        except Exception as exc:  # reported by the asserts below
            results[path] = exc

    blocker = threading.Thread(target=get, args=("/block",))
    blocker.start()
    wait_for_file(server.folder / "blocking")  # the loop is held from here for 1.5 s
    started = time.monotonic()
    get("/fast")
    waited = time.monotonic() - started
    blocker.join(NET_TIMEOUT)
    assert not blocker.is_alive()
    assert results["/block"].json() == {"blocked": True}
    assert results["/fast"].json() == {"fast": True}
    assert 1.0 < waited < NET_TIMEOUT  # it waited for the block, and then it was answered

    _, err = server.terminate()
    assert "the event loop has been blocked" in err, err
    assert f'File "{server.folder / "app.py"}", line {line}, in blocking' in err, err
    assert "time.sleep(1.5)  # BLOCKING LINE" in err, err


# -- 7. the lifespan protocol ----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_lifespan_startup_before_first_request_and_shutdown_on_signal(serve, sig):
    import httpx

    server = serve(LIFESPAN_APP, ready="/seen")
    log = server.folder / "lifespan.log"
    # The readiness probe was the first request: start-up had run before it.
    with httpx.Client(base_url=server.url, timeout=NET_TIMEOUT) as client:
        assert client.get("/seen").json() == {"log": ["startup", "request", "request"]}
    assert log.read_text().split() == ["startup", "request", "request"]
    out, err = server.terminate(sig)
    assert server.proc.returncode in (0, -sig), err  # uvicorn re-raises the signal it handled
    assert log.read_text().split() == ["startup", "request", "request", "shutdown"]
    assert "Application shutdown complete" in err, err



def test_lifespan_without_lifespan_events_starts_before_concurrent_first_requests(serve):
    """``--lifespan off``: the first request starts the app; those arriving meanwhile wait."""
    import httpx

    server = serve(LIFESPAN_APP, ready=None, lifespan="off", env={"STARTUP_GATE": "1"})

    async def main():
        async with httpx.AsyncClient(base_url=server.url, timeout=NET_TIMEOUT,
                                     limits=httpx.Limits(max_connections=20)) as client:
            first = asyncio.ensure_future(client.get("/seen"))
            await asyncio.to_thread(wait_for_file, server.folder / "starting")
            # Start-up is running (held by the gate): these must wait for it.
            others = [asyncio.ensure_future(client.get("/seen")) for _ in range(19)]
            await asyncio.sleep(0.5)
            (server.folder / "go").touch()
            return await asyncio.gather(first, *others)

    responses = asyncio.run(main())
    log = (server.folder / "lifespan.log").read_text().split()
    assert log.count("startup") == 1
    for response in responses:
        assert response.status_code == 200, response.text
    assert log == ["startup"] + ["request"] * 20, log
