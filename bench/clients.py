"""``python -m bench --clients``: what a call from one service to another costs.

Three measurements of ``djng.clients``, each against the cheapest way to do the
same work, sides interleaved in a freshly shuffled order every trial so that
drift hits them alike (wall-clock time: the HTTP rows wait on another process):

- in-process: one call through ``djng.testing.Cluster`` (the recorder, then
  ``InProcess``: a fresh context, the body serialized as over HTTP) against a
  direct ``djng.testing.Client`` request to the same callee;
- over loopback: ``djng.clients.users.get`` (``aget``) through ``djng.clients.HTTP``
  against raw httpx (``Client``; ``AsyncClient``) calling the same uvicorn server,
  keep-alive both;
- fan-out: an async djng view making 50 calls to a callee that sleeps 20 ms,
  ``asyncio.gather`` against one after another.

The callee runs under uvicorn in a subprocess (``bench.server``'s start-up wait
and stop), always stopped when the measurement ends, on error too.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import djng

from .run import target_row, targets_table
from .server import HOST, FactoryServer, _uvicorn_title

#: Sequential calls in one timed batch (in-process and over loopback).
CALLS = 2_000
#: Calls one fan-out request makes, and how long the callee sleeps in each.
FAN_OUT = 50
SLEEP = 0.02
#: The deadline of every call the bench makes itself (djng's own calls have theirs).
TIMEOUT = 10.0

Side = Callable[[int], float]  # runs a batch of n calls, returns its seconds


# -- the services ------------------------------------------------------------------------------


def user(request: Any, id: int) -> dict:
    return {"id": id, "name": f"user {id}"}


async def slow_user(request: Any, id: int) -> dict:
    """A callee that waits on something (a database, a third service): 20 ms."""
    await asyncio.sleep(SLEEP)
    return {"id": id, "name": f"user {id}"}


def users_app() -> djng.Router:
    return djng.Router(
        djng.path("users/<int:id>", user),
        djng.path("slow/<int:id>", slow_user),
    )


def callee_asgi() -> Any:
    """The factory uvicorn serves (``--factory bench.clients:callee_asgi``)."""
    djng.hosts.configure([HOST])
    return djng.asgi(users_app())


async def sequential(request: Any) -> list:
    return [await djng.clients.users.aget(f"/slow/{i}") for i in range(FAN_OUT)]


async def concurrent(request: Any) -> list:
    return list(await asyncio.gather(
        *(djng.clients.users.aget(f"/slow/{i}") for i in range(FAN_OUT))
    ))


def caller_app(url: str) -> Any:
    """The service that fans out, configured as a deployed app would be: a URL."""
    app = djng.Router(djng.path("sequential", sequential), djng.path("concurrent", concurrent))
    return djng.reconfigure(app, clients={"users": djng.clients.HTTP(url, timeout=TIMEOUT)})


def check_callee(url: str) -> None:
    """The callee answers what the rows expect, before anything is timed."""
    import httpx

    answer = httpx.get(f"{url}/users/1", timeout=TIMEOUT)
    if answer.status_code != 200 or answer.json() != user(None, 1):
        raise RuntimeError(f"the callee answers {answer.status_code} {answer.text[:200]!r}")


# -- timing ------------------------------------------------------------------------------------


def repeated(call: Callable[[], Any]) -> Side:
    """A side that makes ``n`` calls one after another."""

    def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return batch


def arepeated(runner: asyncio.Runner, call: Callable[[], Awaitable[Any]]) -> Side:
    """:func:`repeated` for a coroutine function, awaited on ``runner``'s loop (which
    lives across batches, as a server's does, so that pools are kept), in a copy of
    the caller's context (the Runner's own is a copy from its start)."""

    async def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await call()
        return time.perf_counter() - start

    return lambda n: runner.run(batch(n), context=contextvars.copy_context())


def with_users(transport: Any, side: Side) -> Side:
    """``side`` with ``djng.clients.users`` reaching ``transport`` (one pool for all
    batches: the transport keeps it)."""

    def batch(n: int) -> float:
        with djng.clients.use({"users": transport}):
            return side(n)

    return batch


def interleaved(sides: dict[str, Side], trials: int, n: int, warmup: int,
                log: Callable = print) -> dict[str, list]:
    """Seconds of each side's batches of ``n``: a warm-up batch of ``warmup`` each,
    then one batch per trial, the sides in a fresh random order each trial."""
    for side in sides.values():
        side(warmup)
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for trial in range(trials):
        for name in random.sample(list(sides), len(sides)):
            seconds[name].append(sides[name](n))
        log(f"  trial {trial + 1}/{trials} done", file=sys.stderr)
    return seconds


# -- the three measurements ----------------------------------------------------------------------


def inprocess(trials: int, calls: int, log: Callable = print) -> dict[str, list]:
    """A Cluster call against a direct test-client request, both to ``users_app``."""
    from djng.testing import Client, Cluster

    app = users_app()
    direct = Client(app)
    with Cluster({"users": app}):
        if djng.clients.users.get("/users/1") != direct.get("/users/1").json():
            raise RuntimeError("a Cluster call and a direct request answer differently")
        return interleaved({
            "direct": repeated(lambda: direct.get("/users/1")),
            "cluster": repeated(lambda: djng.clients.users.get("/users/1")),
        }, trials, calls, warmup(calls), log)


def http_sync(url: str, trials: int, calls: int, log: Callable = print) -> dict[str, list]:
    """``djng.clients.users.get`` through ``HTTP(url)`` against raw ``httpx.Client``."""
    import httpx

    transport = djng.clients.HTTP(url, timeout=TIMEOUT)
    with httpx.Client(base_url=url, timeout=TIMEOUT) as raw:
        return interleaved({
            "raw": repeated(lambda: raw.get("/users/1").json()),
            "djng": with_users(transport, repeated(lambda: djng.clients.users.get("/users/1"))),
        }, trials, calls, warmup(calls), log)


def http_async(url: str, trials: int, calls: int, log: Callable = print) -> dict[str, list]:
    """``aget`` through ``HTTP(url)`` against raw ``httpx.AsyncClient``, on one loop."""
    import httpx

    transport = djng.clients.HTTP(url, timeout=TIMEOUT)
    raw = httpx.AsyncClient(base_url=url, timeout=TIMEOUT)

    async def raw_call() -> Any:
        return (await raw.get("/users/1")).json()

    with asyncio.Runner() as runner:  # its end closes djng's pool for the loop
        try:
            return interleaved({
                "raw": arepeated(runner, raw_call),
                "djng": with_users(transport, arepeated(
                    runner, lambda: djng.clients.users.aget("/users/1"))),
            }, trials, calls, warmup(calls), log)
        finally:
            runner.run(raw.aclose())


def fan_out(url: str, trials: int, log: Callable = print) -> dict[str, list]:
    """One request to an async view making :data:`FAN_OUT` calls, gathered against
    awaited one after another (driven by ``djng.testing.AsyncClient``); and, as the
    floor of this machine, the same calls gathered with raw ``httpx.AsyncClient``."""
    import httpx

    from djng.testing import AsyncClient

    client = AsyncClient(caller_app(url))
    raw = httpx.AsyncClient(base_url=url, timeout=TIMEOUT)

    def view(path: str) -> Callable[[], Awaitable[None]]:
        async def one_request() -> None:
            answer = await client.get(path)
            if answer.status_code != 200 or len(answer.json()) != FAN_OUT:
                raise RuntimeError(f"{path} answers {answer.status_code} {answer.content[:200]!r}")

        return one_request

    async def raw_gather() -> None:
        answers = await asyncio.gather(*(raw.get(f"/slow/{i}") for i in range(FAN_OUT)))
        for answer in answers:
            answer.raise_for_status().json()

    with asyncio.Runner() as runner:
        runner.run(client.__aenter__())
        try:
            return interleaved({
                "sequential": arepeated(runner, view("/sequential")),
                "concurrent": arepeated(runner, view("/concurrent")),
                "raw": arepeated(runner, raw_gather),
            }, trials, 1, 1, log)
        finally:
            runner.run(raw.aclose())
            runner.run(client.__aexit__(None, None, None))


def warmup(calls: int) -> int:
    """Calls before the timed batches: enough to open the pools and warm the caches."""
    return max(1, calls // 10)


# -- the run -----------------------------------------------------------------------------------


def measure(env: dict, trials: int, quick: bool = False, log: Callable = print) -> dict:
    """Seconds per batch of every side: {row: {side: [seconds...]}}, and the counts."""
    calls = 20 if quick else CALLS
    log(f"clients: in-process, {trials} trials of {calls} calls", file=sys.stderr)
    result = {"calls": calls, "inprocess": inprocess(trials, calls, log)}
    with FactoryServer("bench.clients:callee_asgi", env) as callee:
        check_callee(callee.url)
        log(f"clients: over loopback ({callee.url}), sync", file=sys.stderr)
        result["http_sync"] = http_sync(callee.url, trials, calls, log)
        log("clients: over loopback, async", file=sys.stderr)
        result["http_async"] = http_async(callee.url, trials, calls, log)
        log(f"clients: fan-out of {FAN_OUT} calls", file=sys.stderr)
        result["fan_out"] = fan_out(callee.url, trials, log)
    return result


def spread(seconds: list[float], scale: float) -> tuple[float, float, float]:
    """(median, min, max) of the batches, each times ``scale``."""
    values = [s * scale for s in seconds]
    return statistics.median(values), min(values), max(values)


def cell(seconds: list[float], scale: float, unit: str) -> str:
    median, low, high = spread(seconds, scale)
    return f"{median:,.1f} {unit} ({low:,.1f}–{high:,.1f})"


def ratio(seconds: dict[str, list], slow: str, fast: str) -> float:
    return statistics.median(seconds[slow]) / statistics.median(seconds[fast])


#: (row, side, what the side is) for the per-call table, in order.
SIDES = (
    ("inprocess", "direct", "`djng.testing.Client(users).get('/users/1')`"),
    ("inprocess", "cluster", "`djng.clients.users.get('/users/1')` in `Cluster({'users': users})`"),
    ("http_sync", "raw", "raw `httpx.Client(base_url=url).get('/users/1').json()`"),
    ("http_sync", "djng", "`djng.clients.users.get('/users/1')`, `HTTP(url)`"),
    ("http_async", "raw", "raw `await httpx.AsyncClient(base_url=url).get('/users/1')`, `.json()`"),
    ("http_async", "djng", "`await djng.clients.users.aget('/users/1')`, `HTTP(url)`"),
)


def targets(result: dict) -> list[tuple[str, str, bool | None, str]]:
    """The issue's three targets (the async loopback one alongside the sync one)."""
    return [
        target_row("in-process Cluster call ≤ 2× a direct test-client request",
                   ratio(result["inprocess"], "cluster", "direct"), 2.0, higher=False),
        target_row("loopback call (uvicorn): `djng.clients` ≤ 1.2× raw httpx",
                   ratio(result["http_sync"], "djng", "raw"), 1.2, higher=False),
        target_row("loopback call (uvicorn), async: `djng.clients` ≤ 1.2× raw httpx",
                   ratio(result["http_async"], "djng", "raw"), 1.2, higher=False),
        target_row(f"fan-out of {FAN_OUT} calls to a {SLEEP * 1e3:g} ms callee: "
                   "gathered ≥ 10× sequential",
                   ratio(result["fan_out"], "sequential", "concurrent"), 10.0, higher=True),
    ]


def report(result: dict, trials: int) -> str:
    """The markdown section: per-call figures, the fan-out, and the targets."""
    calls = result["calls"]
    lines = [
        f"## Services calling services (`djng.clients`): wall-clock time, {trials} trials",
        "",
        f"Each cell: one trial's batch of {calls:,} sequential calls, per call, median "
        "(min–max); the sides of a row interleaved in a fresh random order each trial, "
        f"after a warm-up batch. Loopback: the callee under {_uvicorn_title()}, "
        "keep-alive connections.",
        "",
        "| call | µs per call | ratio to the direct or raw call |",
        "|---|---|---|",
    ]
    for row, side, title in SIDES:
        baseline = "direct" if row == "inprocess" else "raw"
        lines.append(f"| {title} | {cell(result[row][side], 1e6 / calls, 'µs')} | "
                     f"**{ratio(result[row], side, baseline):.2f}×** |")
    fan = result["fan_out"]
    lines += [
        "",
        f"Fan-out: one request (`djng.testing.AsyncClient`) to an async view making "
        f"{FAN_OUT} `await djng.clients.users.aget(...)` calls to a callee that sleeps "
        f"{SLEEP * 1e3:g} ms, under uvicorn: one after another "
        f"{cell(fan['sequential'], 1e3, 'ms')}, `asyncio.gather` "
        f"{cell(fan['concurrent'], 1e3, 'ms')}; speed-up "
        f"**{ratio(fan, 'sequential', 'concurrent'):.1f}×**. The same {FAN_OUT} calls "
        f"gathered with raw `httpx.AsyncClient`, no view: {cell(fan['raw'], 1e3, 'ms')}.",
        "",
        *targets_table(targets(result)),
    ]
    return "\n".join(lines)
