"""Server mode: each contender under gunicorn (one sync worker) on a free loopback
port, loaded for a few seconds by a bounded client: wrk when installed, else a
small threaded Python client. It starts and stops its own servers."""

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


class Server:
    """gunicorn serving one contender's app for one item; a context manager."""

    def __init__(self, name: str, item: str, env: dict) -> None:
        self.port = free_port()
        env = {**env, "BENCH_CONTENDER": name, "BENCH_ITEM": item}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
                "--bind", f"{HOST}:{self.port}", "--log-level", "warning",
                "--chdir", str(ROOT), "bench.serverapp:app",
            ],
            env=env, cwd=ROOT, start_new_session=True,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.proc.returncode}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not start listening within 30 s")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn's master stops its worker on SIGTERM
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


def run(names: list[str], items: list[str], seconds: float, env: dict,
        connections: int = 2, log=print) -> str:
    """Load every (contender, item) in shuffled order; a markdown table."""
    client = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if client == "wrk" else load_python
    pairs = [(n, i) for n in names for i in items]
    random.shuffle(pairs)
    results: dict[tuple[str, str], str] = {}
    for name, item_name in pairs:
        item = BY_NAME[item_name]
        log(f"  server: {name} {item_name}", file=sys.stderr)
        with Server(name, item_name, env) as server:
            status, content = request_once(server.port, item)
            if status != 200 or not item.check(content):
                raise RuntimeError(f"{name} under gunicorn answers {item_name} wrongly: "
                                   f"{status} {content[:200]!r}")
            rps, p99, errors = load(server.port, item, seconds, connections)
        cell = f"{rps:,.0f} req/s, p99 {p99:.2f} ms"
        results[name, item_name] = cell + (f", {errors} errors" if errors else "")
    header = ["work item", *(CONTENDERS[n].label for n in names)]
    lines = [
        f"Client: {client}, {connections} connections; one gunicorn sync worker per row and "
        "contender.", "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
    ]
    for item_name in items:
        cells = [BY_NAME[item_name].title] + [results[n, item_name] for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
