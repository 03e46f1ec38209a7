"""A long-lived process for one contender: ``python -m bench.worker NAME``.

It builds the contender's apps, checks each answers its item correctly, then
answers JSON-line commands on stdin (results on the original stdout; anything
the frameworks print goes to stderr):

- ``{"cmd": "calibrate", "item": I, "seconds": S}`` -> ``{"n": N}`` requests per batch
- ``{"cmd": "run", "item": I, "n": N}`` -> ``{"seconds": T}`` for N requests
- ``{"cmd": "rss", "item": I, "n": N}`` -> ``{"rss_kib": K}`` after N requests

A WSGI contender is called with a copy of a prebuilt environ and a no-op
``start_response``; an ASGI contender (scope, ``receive`` and ``send`` called
directly, as Starlette's own benchmarks do) on one event loop for the worker's
life, a batch of N requests awaited one after another in one coroutine.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import io
import json
import os
import sys
import time

from .contenders import CONTENDERS
from .items import BY_NAME, environ, problem, scope


def _write(*args, **kwargs):
    pass


def start_response(status, headers, exc_info=None):
    return _write


#: The clock batches are timed with: this process's CPU time, so that other
#: processes sharing the machine do not count (``BENCH_CLOCK=wall`` for wall time).
CLOCK = time.perf_counter if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time


def run_batch(app, env: dict, body: bytes, n: int) -> float:
    """Call ``app`` ``n`` times, each with a fresh copy of ``env`` and of its body."""
    BytesIO = io.BytesIO
    sr = start_response
    perf_counter = CLOCK
    start = perf_counter()
    for _ in range(n):
        e = env.copy()
        e["wsgi.input"] = BytesIO(body)
        result = app(e, sr)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return perf_counter() - start


def call_once(app, env: dict, body: bytes) -> tuple[str, str | None, bytes]:
    """(status, Content-Type, body) of one request."""
    seen = []

    def capture(status, headers, exc_info=None):
        seen.append((status, headers))
        return _write

    e = env.copy()
    e["wsgi.input"] = io.BytesIO(body)
    result = app(e, capture)
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = seen[0]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    return status, content_type, content


# -- ASGI -------------------------------------------------------------------------------

_DISCONNECT = {"type": "http.disconnect"}


class Exchange:
    """One ASGI request's ``receive`` and ``send``, as uvicorn's behave: the first
    ``receive`` is the whole body; a second one (a framework listening for the
    client's disconnect) waits until the response is complete, then says
    ``http.disconnect``. With ``capture``, the status, Content-Type and body are kept."""

    __slots__ = ("message", "done", "status", "content_type", "chunks")

    def __init__(self, body: bytes, capture: bool = False) -> None:
        self.message: dict | None = {"type": "http.request", "body": body, "more_body": False}
        self.done: asyncio.Future | bool | None = None  # True: the response is complete
        self.status = 0
        self.content_type: str | None = None
        self.chunks: list[bytes] | None = [] if capture else None

    async def receive(self) -> dict:
        message = self.message
        if message is not None:
            self.message = None
            return message
        done = self.done
        if done is None:
            done = self.done = asyncio.get_running_loop().create_future()
        if done is not True:
            await done
        return _DISCONNECT

    async def send(self, message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self.chunks is not None:
                self.chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done, self.done = self.done, True
                if isinstance(done, asyncio.Future) and not done.done():
                    done.set_result(None)
        elif kind == "http.response.start" and self.chunks is not None:
            self.status = message["status"]
            self.content_type = next(
                (v.decode("latin-1") for k, v in message.get("headers", ())
                 if k.lower() == b"content-type"), None,
            )


async def _asgi_batch(app, scope_: dict, body: bytes, n: int) -> float:
    new = Exchange
    clock = CLOCK
    start = clock()
    for _ in range(n):
        exchange = new(body)
        await app(scope_.copy(), exchange.receive, exchange.send)
    return clock() - start


async def _asgi_once(app, scope_: dict, body: bytes) -> tuple[str, str | None, bytes]:
    exchange = Exchange(body, capture=True)
    await app(scope_.copy(), exchange.receive, exchange.send)
    return str(exchange.status), exchange.content_type, b"".join(exchange.chunks)


class Worker:
    def __init__(self, name: str) -> None:
        module = importlib.import_module(f".contenders.{CONTENDERS[name].module}", __package__)
        self.apps = {
            item: app for item, app in module.build().items()
            if BY_NAME[item].only is None or name in BY_NAME[item].only
        }
        self.activate = getattr(module, "activate", None)
        self.asgi = CONTENDERS[name].interface == "asgi"
        if self.asgi:
            self.loop = asyncio.new_event_loop()  # one loop for the worker's life
            asyncio.set_event_loop(self.loop)
            self.envs = {item: scope(BY_NAME[item]) for item in self.apps}
        else:
            self.envs = {item: environ(BY_NAME[item]) for item in self.apps}

    def _select(self, item: str):
        if self.activate is not None:
            self.activate(item)
        return self.apps[item], self.envs[item], BY_NAME[item].body

    def _batch(self, app, env: dict, body: bytes, n: int) -> float:
        if self.asgi:
            return self.loop.run_until_complete(_asgi_batch(app, env, body, n))
        return run_batch(app, env, body, n)

    def _once(self, app, env: dict, body: bytes) -> tuple[str, str | None, bytes]:
        if self.asgi:
            return self.loop.run_until_complete(_asgi_once(app, env, body))
        return call_once(app, env, body)

    def check(self) -> dict[str, str]:
        """Each item's problem, if its answer is wrong ('' when right)."""
        problems = {}
        for item in self.apps:
            app, env, body = self._select(item)
            try:
                problems[item] = problem(BY_NAME[item], *self._once(app, env, body))
            except Exception as exc:  # report, do not crash the run
                problems[item] = f"{type(exc).__name__}: {exc}"
        return problems

    def calibrate(self, item: str, seconds: float) -> int:
        app, env, body = self._select(item)
        n = 1
        while True:
            elapsed = self._batch(app, env, body, n)
            if elapsed >= min(seconds, 0.05) or n >= 1 << 24:
                return max(1, round(n * seconds / elapsed))
            n *= 2

    def run(self, item: str, n: int) -> float:
        app, env, body = self._select(item)
        gc.collect()
        return self._batch(app, env, body, n)

    def rss(self, item: str, n: int) -> int:
        app, env, body = self._select(item)
        self._batch(app, env, body, n)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def main() -> None:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a framework prints must not reach the protocol stream
    sys.stdout = sys.stderr
    worker = Worker(sys.argv[1])
    out.write(json.dumps({"items": list(worker.apps), "problems": worker.check()}) + "\n")
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["cmd"]
        if op == "calibrate":
            reply = {"n": worker.calibrate(cmd["item"], cmd["seconds"])}
        elif op == "run":
            reply = {"seconds": worker.run(cmd["item"], cmd["n"])}
        elif op == "rss":
            reply = {"rss_kib": worker.rss(cmd["item"], cmd["n"])}
        elif op == "quit":
            break
        else:
            reply = {"error": f"unknown command {op!r}"}
        out.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
