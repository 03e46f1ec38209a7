"""Server mode: each contender under real WSGI servers on a free loopback port,
loaded for a few seconds by a bounded client: wrk when installed, else a small
threaded Python client. It starts and stops its own servers.

The servers (:data:`SERVERS`): gunicorn with one sync worker, gunicorn with one
gthread worker of 8 threads, and granian (Rust, WSGI interface) with one worker
of 8 blocking threads: one process each, so that the figures compare the
frameworks, not the core count.
"""

from __future__ import annotations

import http.client
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

from .contenders import CONTENDERS
from .items import BY_NAME, Item

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


#: name -> (title, command for a port, client connections, the module it needs).
SERVERS = {
    "gunicorn-sync": ("gunicorn, 1 sync worker", _gunicorn("sync", 1), 2, "gunicorn"),
    "gunicorn-gthread": ("gunicorn, 1 gthread worker × 8 threads", _gunicorn("gthread", 8), 32,
                         "gunicorn"),
    "granian": ("granian (WSGI), 1 worker × 8 blocking threads", _granian, 32, "granian"),
}


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


def request_once(port: int, item: Item) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if item.body else {}
        conn.request(item.method, item.path, body=item.body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load_wrk(port: int, item: Item, seconds: float, connections: int) -> tuple[float, float, int]:
    """(requests/second, p99 ms, errors) from wrk."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
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
    headers = {"Content-Type": "application/json"} if item.body else {}

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
    import importlib.util

    return [name for name, spec in SERVERS.items() if importlib.util.find_spec(spec[3])]


def run(names: list[str], items: list[str], seconds: float, env: dict,
        connections: int | None = None, servers: list[str] | None = None,
        log=print) -> tuple[str, dict]:
    """Load every (server, contender, item) in shuffled order.

    Returns a markdown table (rows: server and item; cells: requests/second, p99
    and the ratio to Django's handler on the same server) and the requests/second
    by (server, contender, item). ``connections`` overrides each server's own.
    """
    client = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if client == "wrk" else load_python
    servers = servers or available_servers()
    triples = [(srv, n, i) for srv in servers for n in names for i in items]
    random.shuffle(triples)
    results: dict[tuple[str, str, str], tuple[float, float, int]] = {}
    for server, name, item_name in triples:
        item = BY_NAME[item_name]
        log(f"  server: {server} {name} {item_name}", file=sys.stderr)
        with Server(name, item_name, env, server) as running:
            status, content = request_once(running.port, item)
            if status != item.status or not item.check(content):
                raise RuntimeError(f"{name} under {server} answers {item_name} wrongly: "
                                   f"{status} {content[:200]!r}")
            clients = connections or SERVERS[server][2]
            results[server, name, item_name] = load(running.port, item, seconds, clients)
    header = ["server", "work item", *(CONTENDERS[n].label for n in names)]
    lines = [
        f"Client: {client} (1 thread), {seconds:g} s per cell; connections: "
        + ", ".join(f"{SERVERS[s][0]}: {connections or SERVERS[s][2]}" for s in servers)
        + ". Cells: requests/second, p99 latency, ratio to Django's handler on that server.",
        "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
    ]
    for server in servers:
        for item_name in items:
            base = results.get((server, "django", item_name))
            cells = [SERVERS[server][0], BY_NAME[item_name].title]
            for name in names:
                rps, p99, errors = results[server, name, item_name]
                cell = f"{rps:,.0f}, p99 {p99:.2f} ms"
                if base is not None and base[0]:
                    cell += f" **{rps / base[0]:.2f}×**"
                if errors:
                    cell += f", {errors} errors"
                cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
    rps_by = {key: value[0] for key, value in results.items()}
    return "\n".join(lines), rps_by
