"""Server mode: each contender under real servers on a free loopback port,
loaded for a few seconds by a bounded client: wrk when installed, else a small
threaded Python client. It starts and stops its own servers.

The servers (:data:`SERVERS`): for the WSGI contenders, gunicorn with one sync
worker, gunicorn with one gthread worker of 8 threads, and granian (Rust, WSGI
interface) with one worker of 8 blocking threads; for the ASGI contenders
(``djng.asgi``, Django's ``ASGIHandler``, Starlette), uvicorn with one worker and
no access log. One process each, so that the figures compare the frameworks,
not the core count; every contender gets the same server settings.

For each server and item, the servers of all its contenders run side by side;
each gets a warm-up load, then the runs go round the contenders in a freshly
shuffled order each time, so that drift hits them alike. Cells: the median
run (min–max).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .contenders import BASELINES, CONTENDERS
from .items import BY_NAME, Item, problem, request_headers

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _gunicorn(worker_class: str, threads: int) -> callable:
    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", worker_class,
            "--threads", str(threads), "--bind", f"{HOST}:{port}", "--log-level", "warning",
            "--chdir", str(ROOT), "bench.serverapp:app",
        ]

    return command


def _granian(port: int) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
        "--blocking-threads", "8", "--host", HOST, "--port", str(port), "--log-level", "warning",
        "bench.serverapp:app",
    ]


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--workers", "1", "--interface", "asgi3",
        "--no-access-log", "--host", HOST, "--port", str(port), "--log-level", "warning",
        "bench.serverapp:app",
    ]


def _uvicorn_title() -> str:
    """What uvicorn's ``auto`` loop and HTTP parser pick here (the same for every contender)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn, 1 worker ({loop}, {http}), no access log"


#: name -> (title, command for a port, client connections, the module it needs,
#: the interface of the contenders it serves).
SERVERS = {
    "gunicorn-sync": ("gunicorn, 1 sync worker", _gunicorn("sync", 1), 2, "gunicorn", "wsgi"),
    "gunicorn-gthread": ("gunicorn, 1 gthread worker × 8 threads", _gunicorn("gthread", 8), 32,
                         "gunicorn", "wsgi"),
    "granian": ("granian (WSGI), 1 worker × 8 blocking threads", _granian, 32, "granian", "wsgi"),
    "uvicorn": (_uvicorn_title(), _uvicorn, 32, "uvicorn", "asgi"),
}

#: The contenders server mode serves (the others are in-process only).
SERVED = ("djng", "django", "flask", "falcon", "bottle", "djng_asgi", "django_asgi", "starlette")


class Server:
    """A WSGI server serving one contender's app for one item; a context manager."""

    def __init__(self, name: str, item: str, env: dict, server: str = "gunicorn-sync") -> None:
        self.port = free_port()
        self.server = server
        env = {**env, "BENCH_CONTENDER": name, "BENCH_ITEM": item}
        self.proc = subprocess.Popen(
            SERVERS[server][1](self.port), env=env, cwd=ROOT, start_new_session=True,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.server} exited with status {self.proc.returncode}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.server} did not start listening within 30 s")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the master stops its worker on SIGTERM
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the session it leads
                self.proc.wait()


class FactoryServer(Server):
    """An app factory (``module:function``) under uvicorn, one worker, no access log,
    on a free loopback port, with ``options`` added; the same wait and stop."""

    def __init__(self, factory: str, env: dict, *options: str) -> None:
        self.port = free_port()
        self.server = "uvicorn"
        settings = _uvicorn(self.port)[:-1]  # its last argument: the contenders' app
        command = [*settings, *options, "--factory", factory]
        self.proc = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def request_once(port: int, item: Item) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(item.method, item.path, body=item.body or None,
                     headers=request_headers(item))
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def load_wrk(port: int, item: Item, seconds: float, connections: int) -> tuple[float, float, int]:
    """(requests/second, p99 ms, errors) from wrk."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
        if item.accept != "*/*":
            cmd += ["-H", f"Accept: {item.accept}"]
        if item.body:
            script = Path(tmp, "request.lua")
            body = item.body.decode().replace("\\", "\\\\").replace('"', '\\"')
            script.write_text(
                f'wrk.method = "{item.method}"\nwrk.body = "{body}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            cmd += ["-s", str(script)]
        out = subprocess.run(
            [*cmd, f"http://{HOST}:{port}{item.path}"], capture_output=True, text=True,
            check=True, timeout=seconds + 30,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?timeout (\d+)"):
        found = re.search(pattern, out)
        if found:
            errors += int(found.group(1))
    return rps, p99_ms, errors


def load_python(
    port: int, item: Item, seconds: float, connections: int
) -> tuple[float, float, int]:
    """(requests/second, p99 ms, errors) from a threaded http.client loop."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    headers = request_headers(item)

    def client() -> None:
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                conn.request(item.method, item.path, body=item.body or None, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - start)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3 if latencies else 0
    return len(latencies) / elapsed, p99, errors[0]


def available_servers() -> list[str]:
    """The servers whose package is installed."""
    return [name for name, spec in SERVERS.items() if importlib.util.find_spec(spec[3])]


def run(names: list[str], items: list[str], seconds: float, env: dict,
        connections: int | None = None, servers: list[str] | None = None,
        runs: int = 1, warmup: float = 0, log=print) -> tuple[str, dict]:
    """Load every (server, contender, item) ``runs`` times, after a warm-up.

    WSGI contenders and items go to the WSGI servers, ASGI ones to uvicorn. Returns
    markdown tables, one per interface (rows: server and item; cells: median
    requests/second (min–max), the median run's p99, and the ratio to Django's
    handler of that interface on the same server) and the median requests/second
    by (server, contender, item). ``connections`` overrides each server's own.
    """
    client = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if client == "wrk" else load_python
    servers = servers or available_servers()
    groups = [
        (srv, item) for srv in servers for item in items
        if BY_NAME[item].interface == SERVERS[srv][4]
    ]
    results: dict[tuple[str, str, str], list[tuple[float, float, int]]] = {}
    for server, item_name in groups:
        item = BY_NAME[item_name]
        served = [
            n for n in names if CONTENDERS[n].interface == item.interface
            and (item.only is None or n in item.only)
        ]
        if not served:
            continue
        clients = connections or SERVERS[server][2]
        with contextlib.ExitStack() as stack:
            running = {}
            for name in served:  # side by side: an idle server costs the others nothing
                running[name] = stack.enter_context(Server(name, item_name, env, server))
            for name in served:
                wrong = problem(item, *request_once(running[name].port, item))
                if wrong:
                    raise RuntimeError(f"{name} under {server} answers {item_name} wrongly: "
                                       f"{wrong}")
                if warmup:
                    log(f"  server: {server} {name} {item_name} warm-up", file=sys.stderr)
                    load(running[name].port, item, warmup, clients)
            for run_no in range(runs):
                for name in random.sample(served, len(served)):
                    log(f"  server: {server} {name} {item_name} run {run_no + 1}/{runs}",
                        file=sys.stderr)
                    results.setdefault((server, name, item_name), []).append(
                        load(running[name].port, item, seconds, clients)
                    )
    medians = {key: _median_run(value) for key, value in results.items()}
    lines = [
        f"Client: {client} (1 thread), {runs} × {seconds:g} s per cell"
        + (f" after a {warmup:g} s warm-up" if warmup else "")
        + ", runs interleaved; connections: "
        + ", ".join(f"{SERVERS[s][0]}: {connections or SERVERS[s][2]}" for s in servers)
        + ". Cells: requests/second, median run (min–max), its p99 latency, ratio to "
        "Django's handler (WSGI) or ASGIHandler (ASGI) on that server.",
    ]
    for interface in ("wsgi", "asgi"):
        rows = [(srv, i) for srv, i in groups if SERVERS[srv][4] == interface]
        cols = [n for n in names if any((srv, n, i) in results for srv, i in rows)]
        if not cols:
            continue
        header = ["server", "work item", *(CONTENDERS[n].label for n in cols)]
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for server, item_name in rows:
            baseline = BY_NAME[item_name].baseline or BASELINES[interface]
            base = medians.get((server, baseline, item_name))
            cells = [SERVERS[server][0], BY_NAME[item_name].title]
            for name in cols:
                if (server, name, item_name) not in results:
                    cells.append("—")
                    continue
                rps, p99, _ = medians[server, name, item_name]
                all_rps = [r[0] for r in results[server, name, item_name]]
                errors = sum(r[2] for r in results[server, name, item_name])
                cell = f"{rps:,.0f}"
                if len(all_rps) > 1:
                    cell += f" ({min(all_rps):,.0f}–{max(all_rps):,.0f})"
                cell += f", p99 {p99:.2f} ms"
                if base is not None and base[0]:
                    cell += f" **{rps / base[0]:.2f}×**"
                if errors:
                    cell += f", {errors} errors"
                cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
    rps_by = {key: value[0] for key, value in medians.items()}
    return "\n".join(lines), rps_by


def _median_run(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """The run with the median requests/second (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda r: r[0])
    return ordered[(len(ordered) - 1) // 2]
