"""``python -m bench --push``: push to browsers, ``djng.pubsub`` over Redis into ``djng.sse``.

The server: an async view that subscribes its client to a channel
(``djng.pubsub.subscribe``, Redis at ``DJNG_PUBSUB_URL``) and streams the
subscription as server-sent events (``djng.sse``), under uvicorn (one worker, in
a subprocess: ``bench.server``'s start-up wait and stop, always stopped). The
clients: raw asyncio sockets in this process (an HTTP/1.1 GET, then the chunked
body parsed as it arrives, each arrival stamped in ``data_received``), so that
the measuring side costs little next to the server.

Three measurements, against the issue's targets:

- latency: :data:`SUBSCRIBERS` clients on one channel; once Redis counts them
  all (``PUBSUB NUMSUB``), :data:`MESSAGES` messages published with plain
  redis-py, at least :data:`SPACING` apart, each carrying its send time
  (``perf_counter_ns``, the same clock as the clients'), one at a time: the next
  once every client has the last, so that each meets an idle server (the
  latency, not the queue of a server that cannot keep up; the server's CPU per
  delivery says what rate it can keep up with). A delivery's latency is its
  arrival minus the send time. Every client must get every message, in order.
  :data:`ROUNDS` rounds, each of djng and then of :func:`bare_asgi` (the same
  design with no framework, under the same uvicorn), and Redis alone
  (:func:`redis_hop`): what the figure is read against.
- memory: :data:`IDLE` idle connections with a heartbeat every
  :data:`HEARTBEAT` s; the server's resident memory (``VmRSS`` of the process
  and any children) once Redis counts them all and a heartbeat has reached
  every client.
- idle CPU: :data:`IDLE` connections again, now with a heartbeat every
  :data:`QUIET_HEARTBEAT` s, and the server's CPU time (utime + stime from
  ``/proc/<pid>/stat``) over a :data:`CPU_WINDOW` s window inside which no
  heartbeat is due (the clients confirm none came); the same window with no
  connection open is the floor (uvicorn's own ticks).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import djng

from .run import target_row, targets_table
from .server import HOST, FactoryServer, _uvicorn_title

#: Clients of the latency measurement, the messages published to them, and their spacing.
SUBSCRIBERS = 200
MESSAGES = 200
SPACING = 0.01
#: Latency runs of each server, taken in turn (their deliveries pooled).
ROUNDS = 3
#: Idle connections of the memory and CPU measurements.
IDLE = 1_000
#: The heartbeat of the memory measurement, and of the CPU one (longer than its window).
HEARTBEAT = 5.0
QUIET_HEARTBEAT = 30.0
#: The CPU window (no heartbeat due in it), and the settling before it.
CPU_WINDOW = 10.0
SETTLE = 1.0
#: The bound on every wait of the bench (connecting, Redis counting, deliveries).
TIMEOUT = 30.0
#: The issue's targets.
P50_MS, P99_MS, RSS_MIB, CPU_PERCENT = 2.0, 10.0, 200.0, 1.0

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the server ------------------------------------------------------------------------------------


async def events(request: Any, channel: str) -> Any:
    """The channel's messages as server-sent events, a heartbeat every ``?heartbeat=`` s."""
    heartbeat = float(request.GET.get("heartbeat", 15))
    return djng.sse(djng.pubsub.subscribe(channel), heartbeat=heartbeat)


def push_asgi() -> Any:
    """The factory uvicorn serves (``--factory bench.push:push_asgi``); the broker comes
    from ``DJNG_PUBSUB_URL``."""
    djng.hosts.configure([HOST])
    return djng.asgi(djng.Router(djng.path("events/<str:channel>", events)))


def bare_asgi() -> Any:
    """What djng's latency is read against (``--factory bench.push:bare_asgi``): a
    bare ASGI app of djng's design, no framework: one Redis connection per process
    for all its subscriptions (redis-py's asyncio client, as djng's), a queue per
    client, each message sent as the same event text. What uvicorn, redis-py and the
    sockets cost alone."""
    import redis.asyncio

    channels: dict[str, set[asyncio.Queue]] = {}
    lock = asyncio.Lock()
    listening: Any = None

    async def read() -> None:
        while True:
            raw = await listening.get_message(timeout=None)
            if raw is not None and raw["type"] == "message":
                chunk = f"event: {raw['channel']}\ndata: {raw['data']}\n\n".encode()
                for queue in tuple(channels.get(raw["channel"], ())):
                    queue.put_nowait(chunk)

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        nonlocal listening
        if scope["type"] != "http":
            return
        channel, queue = scope["path"].rsplit("/", 1)[1], asyncio.Queue()
        async with lock:
            if listening is None:
                client = redis.asyncio.Redis.from_url(os.environ["DJNG_PUBSUB_URL"],
                                                      decode_responses=True)
                listening = client.pubsub(ignore_subscribe_messages=True)
                await listening.subscribe(channel)
                asyncio.get_running_loop().create_task(read())
            elif channel not in channels:
                await listening.subscribe(channel)
            channels.setdefault(channel, set()).add(queue)
        task = asyncio.current_task()

        async def cancel_on_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            task.cancel()

        watcher = asyncio.get_running_loop().create_task(cancel_on_disconnect())
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b": hi\n\n", "more_body": True})
            while True:
                chunk = await queue.get()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except asyncio.CancelledError:
            pass
        finally:
            watcher.cancel()
            channels[channel].discard(queue)
            if not channels[channel]:
                del channels[channel]
                async with lock:
                    await listening.unsubscribe(channel)

    return app


def push_server(env: dict, redis_url: str, factory: str = "push_asgi") -> FactoryServer:
    """An app factory of this module (:func:`push_asgi`, :func:`bare_asgi`) under
    uvicorn (a backlog of 2048, no concurrency limit), publishing to ``redis_url``."""
    return FactoryServer(f"bench.push:{factory}", {**env, "DJNG_PUBSUB_URL": redis_url},
                         "--backlog", "2048")


def redis_url() -> str:
    return (os.environ.get("DJNG_TEST_REDIS_URL") or os.environ.get("DJNG_PUBSUB_URL")
            or DEFAULT_REDIS)


def unreachable(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used (None: it answers)."""
    import redis  # run_push checked that it is installed

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # refused, unknown host, auth: all mean no Redis to use
        return f"no Redis answers at {url} ({type(exc).__name__}: {exc})"
    return None


# -- the clients --------------------------------------------------------------------------------


class SSEClient(asyncio.Protocol):
    """One ``EventSource``-like client on a raw socket: sends the GET, checks the
    answer's head, then splits the (chunked) body into events, stamping each with
    the ``perf_counter_ns`` of the read that completed it. Heartbeats (comments)
    are kept apart from events.

    While a :class:`Tally` counts its events (the latency run), a read is only
    stamped, kept and counted (one ``bytes.count``), and parsed after the run
    (:meth:`settle`): 200 clients in one process would otherwise take longer to
    parse a message's 200 arrivals than the server takes to send them, and the
    stamps would measure the bench."""

    def __init__(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n"
                        "Accept: text/event-stream\r\n\r\n").encode()
        self.buffer = bytearray()
        self.pending = b""  # an event's start, its end not yet in
        self.head: bytes | None = None
        self.chunked = True
        self.events: list[tuple[int, bytes]] = []  # (arrival ns, the event's text)
        self.heartbeats: list[int] = []  # arrival ns of each comment
        self.opened = loop.create_future()  # the head and a first byte of the stream
        self.gone = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.problem: str | None = None
        self.tally: Tally | None = None
        self.reads: list[tuple[int, bytes]] = []  # (arrival ns, bytes) while tallied
        self.last = b""  # the last byte read while tallied: an event's end may be split

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        tally = self.tally
        if tally is not None:
            self.reads.append((now, data))
            # An event ends with a blank line; the stream's only "\n\n" (no heartbeat
            # is due while tallied, and chunk framing uses "\r\n").
            tally.add(data.count(b"\n\n") + (self.last == b"\n" and data[:1] == b"\n"))
            self.last = data[-1:]
            return
        self.parse(now, data)

    def settle(self) -> None:
        """Parse the reads kept while tallied, each under its arrival stamp."""
        self.tally = None
        reads, self.reads = self.reads, []
        for now, data in reads:
            self.parse(now, data)

    def parse(self, now: int, data: bytes) -> None:
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = bytes(self.buffer[:end])
            del self.buffer[:end + 4]
            lines = self.head.decode("latin-1").lower().split("\r\n")
            if not lines[0].startswith("http/1.1 200") or not any(
                    line.startswith("content-type: text/event-stream") for line in lines):
                self.fail(f"the stream answers {self.head[:300]!r}")
                return
            self.chunked = "transfer-encoding: chunked" in lines
        if self.chunked:
            self._chunks(now)
        else:
            self._stream(now, self.buffer)
            self.buffer.clear()

    def _chunks(self, now: int) -> None:
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            end = line_end + 2 + size
            if len(buffer) < end + 2:
                return
            chunk = bytes(buffer[line_end + 2:end])
            del buffer[:end + 2]
            if size == 0:
                self.fail("the stream ended")
                return
            self._stream(now, chunk)

    def _stream(self, now: int, text: bytes | bytearray) -> None:
        *whole, self.pending = (self.pending + bytes(text)).split(b"\n\n")
        for event in whole:
            if event.startswith(b":"):
                self.heartbeats.append(now)
            elif event:
                self.events.append((now, event))
        if not self.opened.done() and (self.heartbeats or self.events):
            self.opened.set_result(None)

    def fail(self, problem: str) -> None:
        self.problem = self.problem or problem
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(problem))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(f"connection lost before the stream: {exc}"))
        if not self.gone.done():
            self.gone.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Tally:
    """Events received by all clients together; :meth:`reach` waits for a count."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.waiter: asyncio.Future | None = None

    def add(self, events: int) -> None:
        self.count += events
        if self.waiter is not None and self.count >= self.target and not self.waiter.done():
            self.waiter.set_result(None)

    async def reach(self, target: int) -> bool:
        """Whether ``target`` events came within :data:`TIMEOUT`."""
        if self.count >= target:
            return True
        self.target, self.waiter = target, asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self.waiter, TIMEOUT)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiter = None


async def open_clients(port: int, path: str, n: int) -> list[SSEClient]:
    """``n`` clients of ``path``, each with its answer's head and first heartbeat in."""
    loop = asyncio.get_running_loop()
    clients: list[SSEClient] = []
    limit = asyncio.Semaphore(256)  # connecting, not holding: all n stay open

    async def one() -> None:
        async with limit:
            _, client = await loop.create_connection(lambda: SSEClient(path), HOST, port)
            clients.append(client)
            await client.opened

    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), TIMEOUT)
    except BaseException:
        await close_clients(clients)
        raise
    return clients


async def close_clients(clients: list[SSEClient]) -> None:
    for client in clients:
        client.close()
    if clients:
        await asyncio.wait_for(asyncio.gather(*(c.gone for c in clients)), TIMEOUT)


async def subscribed(redis: Any, channel: str, n: int) -> float:
    """Wait until the server listens to ``channel`` for its ``n`` clients (0: none);
    the seconds it took. A server process holds one Redis subscription for all its
    streams of a channel, and each stream listens before its first byte goes (which
    :func:`open_clients` waited for), so Redis counts 1, then 0 once all have gone."""
    start = time.perf_counter()
    while True:
        (_, count), = redis.pubsub_numsub(channel)
        if count == min(n, 1):
            return time.perf_counter() - start
        if time.perf_counter() - start > TIMEOUT:
            raise RuntimeError(f"Redis counts {count} subscribers of {channel}, not {n}, "
                               f"after {TIMEOUT:g} s")
        await asyncio.sleep(0.02)


# -- the server process's resources --------------------------------------------------------------


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn with one worker has none, but a reloader or a
    supervisor would)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return pids


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB, summed over ``pid`` and its descendants."""
    rss = peak = 0
    for member in family(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1])
    return rss, peak


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads) and its descendants, in seconds."""
    ticks = 0
    for member in family(pid):
        stat = Path(f"/proc/{member}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after the command's name
        ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / CLOCK_TICKS


async def cpu_window(pid: int, seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the server over a window of ``seconds``."""
    cpu, start = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    return cpu_seconds(pid) - cpu, time.perf_counter() - start


# -- the measurements ------------------------------------------------------------------------------


async def latency(port: int, pid: int, redis: Any, subscribers: int, messages: int,
                  log: Callable) -> dict:
    """Publish ``messages`` to ``subscribers`` SSE clients; every delivery's latency."""
    channel = f"bench.push.{uuid.uuid4().hex[:12]}.latency"
    log(f"push: latency, {subscribers} subscribers, {messages} messages", file=sys.stderr)
    clients = await open_clients(port, f"/events/{channel}?heartbeat={QUIET_HEARTBEAT:g}",
                                 subscribers)
    try:
        await subscribed(redis, channel, subscribers)
        tally = Tally()
        for client in clients:
            client.tally = tally
        cpu_before, start, mine = cpu_seconds(pid), time.perf_counter(), time.process_time()
        for i in range(-1, messages):  # -1: a warm-up message, not counted
            if i == 0:
                cpu_before, start, mine = cpu_seconds(pid), time.perf_counter(), time.process_time()
            sent = time.perf_counter()
            redis.publish(channel, json.dumps({"i": i, "t": time.perf_counter_ns()}))
            # Every client has it (the server is idle again) before the next goes.
            if not await tally.reach(subscribers * (i + 2)):
                log(f"push: message {i} did not reach every client within {TIMEOUT:g} s",
                    file=sys.stderr)
                break
            await asyncio.sleep(max(0.0, sent + SPACING - time.perf_counter()))
        cpu = cpu_seconds(pid) - cpu_before
        wall = time.perf_counter() - start
        mine = time.process_time() - mine
        for client in clients:
            client.settle()
    finally:
        await close_clients(clients)
    wanted = f"event: {channel}\ndata: ".encode()
    latencies, by_message = [], [[] for _ in range(messages)]
    complete = 0
    for client in clients:
        seen = []
        for arrival, event in client.events:
            if not event.startswith(wanted):
                raise RuntimeError(f"an unexpected event: {event[:200]!r}")
            data = json.loads(event[len(wanted):])
            if data["i"] < 0:
                continue
            seen.append(data["i"])
            ms = (arrival - data["t"]) / 1e6
            latencies.append(ms)
            by_message[data["i"]].append(ms)
        complete += seen == list(range(messages))
    return {
        "subscribers": subscribers, "messages": messages, "latencies": latencies,
        "complete": complete, "firsts": [min(m) for m in by_message if m],
        "lasts": [max(m) for m in by_message if m], "cpu": cpu, "wall": wall, "mine": mine,
    }


def pooled(runs: list[dict]) -> dict:
    """The deliveries of several :func:`latency` runs of one server, as one sample;
    each run's p50 kept to show the spread."""
    latencies = sorted(ms for run in runs for ms in run["latencies"])
    firsts = [ms for run in runs for ms in run["firsts"]]
    lasts = [ms for run in runs for ms in run["lasts"]]
    cpu, wall = sum(run["cpu"] for run in runs), sum(run["wall"] for run in runs)
    deliveries = max(1, len(latencies))
    return {
        "subscribers": runs[0]["subscribers"], "messages": runs[0]["messages"],
        "runs": len(runs), "deliveries": len(latencies),
        "complete": sum(run["complete"] for run in runs),
        "p50": quantile(latencies, 0.5), "p99": quantile(latencies, 0.99),
        "max": latencies[-1] if latencies else float("nan"),
        "run_p50s": [quantile(sorted(run["latencies"]), 0.5) for run in runs],
        "first": statistics.median(firsts) if firsts else float("nan"),
        "last": statistics.median(lasts) if lasts else float("nan"),
        "cpu_per_delivery_us": cpu / deliveries * 1e6, "cpu": cpu, "wall": wall,
        "client_us": sum(run["mine"] for run in runs) / deliveries * 1e6,
    }


#: The subscriber of :func:`redis_hop`, in a process of its own: a message's
#: arrival minus its send time, for each message until one with ``i`` < 0.
HOP_SUBSCRIBER = """
import json, sys, time, redis
listening = redis.Redis.from_url(sys.argv[1]).pubsub(ignore_subscribe_messages=True)
listening.subscribe(sys.argv[2])
hops = []
for message in listening.listen():
    now = time.perf_counter_ns()
    data = json.loads(message["data"])
    if data["i"] < 0:
        break
    hops.append((now - data["t"]) / 1e6)
print(json.dumps(hops))
"""


async def redis_hop(url: str, redis: Any, messages: int, log: Callable) -> dict:
    """Redis alone: ``messages`` published as in :func:`latency` to one redis-py
    subscriber in another process (no web server, no HTTP); each one's latency."""
    channel = f"bench.push.{uuid.uuid4().hex[:12]}.hop"
    log(f"push: Redis alone, {messages} messages", file=sys.stderr)
    subscriber = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOP_SUBSCRIBER, url, channel, stdout=subprocess.PIPE)
    try:
        await subscribed(redis, channel, 1)
        for i in range(messages + 1):  # the first: a warm-up, not counted
            redis.publish(channel, json.dumps({"i": i, "t": time.perf_counter_ns()}))
            await asyncio.sleep(SPACING)
        redis.publish(channel, json.dumps({"i": -1, "t": 0}))
        out, _ = await asyncio.wait_for(subscriber.communicate(), TIMEOUT)
    finally:
        if subscriber.returncode is None:
            subscriber.kill()
            await subscriber.wait()
    hops = sorted(json.loads(out)[1:])  # the warm-up's out
    return {"messages": len(hops), "p50": quantile(hops, 0.5), "p99": quantile(hops, 0.99)}


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values (nearest rank)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def idle(port: int, pid: int, redis: Any, connections: int, heartbeat: float,
               quiet: float, window: float, floor: float, log: Callable) -> dict:
    """Memory with ``connections`` idle streams whose heartbeats flow; the CPU of as
    many streams over a window with no heartbeat due; the floor: no stream open."""
    result: dict[str, Any] = {"connections": connections, "heartbeat": heartbeat,
                              "quiet": quiet, "window": window}
    result["rss_before"], _ = rss_kib(pid)
    if floor:
        log(f"push: idle server, no connection, {floor:g} s", file=sys.stderr)
        cpu, wall = await cpu_window(pid, floor)
        result["floor"] = cpu / wall
    channel = f"bench.push.{uuid.uuid4().hex[:12]}.idle"
    log(f"push: {connections} idle connections, heartbeat {heartbeat:g} s", file=sys.stderr)
    started = time.perf_counter()
    clients = await open_clients(port, f"/events/{channel}?heartbeat={heartbeat:g}", connections)
    try:
        await subscribed(redis, channel, connections)
        result["open_s"] = time.perf_counter() - started
        result["rss_open"], _ = rss_kib(pid)
        # Each stream's first comment goes out at once; its heartbeats every `heartbeat` s.
        cpu, wall = await cpu_window(pid, heartbeat * 1.5)
        beating = sum(len(c.heartbeats) >= 2 for c in clients)
        result["beating"] = beating
        result["cpu_heartbeats"] = cpu / wall
        result["heartbeats_sent"] = sum(len(c.heartbeats) - 1 for c in clients)
        result["rss"], result["rss_peak"] = rss_kib(pid)
    finally:
        await close_clients(clients)
    result["unsubscribed_s"] = await subscribed(redis, channel, 0)

    channel = f"bench.push.{uuid.uuid4().hex[:12]}.quiet"
    log(f"push: {connections} idle connections, heartbeat {quiet:g} s, CPU over {window:g} s",
        file=sys.stderr)
    started = time.perf_counter()
    clients = await open_clients(port, f"/events/{channel}?heartbeat={quiet:g}", connections)
    try:
        await subscribed(redis, channel, connections)
        await asyncio.sleep(SETTLE)
        before = sum(len(c.heartbeats) for c in clients)
        cpu, wall = await cpu_window(pid, window)
        result["quiet_heartbeats"] = sum(len(c.heartbeats) for c in clients) - before
        if time.perf_counter() - started >= quiet:
            raise RuntimeError("opening the connections took too long: a heartbeat was due")
        result["cpu"], result["cpu_wall"] = cpu, wall
    finally:
        await close_clients(clients)
    await subscribed(redis, channel, 0)
    return result


def raise_open_files(needed: int) -> int:
    """Raise this process's soft open-files limit (uvicorn inherits it) to ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def measure(env: dict, url: str, quick: bool = False, log: Callable = print) -> dict:
    """The idle measurements against a fresh djng server (its memory fresh), then the
    latency's rounds, djng's and the bare app's (:func:`bare_asgi`) in turn."""
    import redis as redis_py

    subscribers, messages = (10, 20) if quick else (SUBSCRIBERS, MESSAGES)
    connections = 20 if quick else IDLE
    heartbeat, window, floor = (1.0, 1.0, 0.0) if quick else (HEARTBEAT, CPU_WINDOW, 5.0)
    rounds = 1 if quick else ROUNDS
    limit = raise_open_files(2 * connections + 256)
    if limit < connections + 64:
        raise RuntimeError(f"the open-files limit is {limit}: too low for {connections} clients")
    redis = redis_py.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        with push_server(env, url) as server, push_server(env, url, "bare_asgi") as bare:
            log(f"push: djng on {HOST}:{server.port} (pid {server.pid}), the bare app on "
                f"{bare.port} (pid {bare.pid}), Redis {url}", file=sys.stderr)

            async def all_of_it() -> dict:
                result = {"idle": await idle(server.port, server.pid, redis, connections,
                                             heartbeat, QUIET_HEARTBEAT, window, floor, log)}
                runs: dict[str, list] = {"latency": [], "bare": []}
                for _ in range(rounds):
                    for name, one in (("latency", server), ("bare", bare)):
                        runs[name].append(await latency(one.port, one.pid, redis, subscribers,
                                                        messages, log))
                result["hop"] = await redis_hop(url, redis, messages, log)
                return {**result, **{name: pooled(each) for name, each in runs.items()}}

            result = client_loop(asyncio.wait_for(all_of_it(), 600))
    finally:
        redis.close()
    result["url"] = url
    return result


def client_loop(main: Any) -> Any:
    """Run the clients on uvloop when it is there (as uvicorn's ``auto`` loop does): on
    asyncio's own loop they cost the bench more CPU per delivery than the server."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


# -- the report ---------------------------------------------------------------------------------


def lower_row(label: str, value: float, limit: float, unit: str,
              digits: int) -> tuple[str, str, bool, str]:
    """A target row (lower is better) with ``digits`` decimals; a zero figure is
    infinitely far past its limit."""
    if value <= 0:
        return (label, f"{value:.{digits}f}{'' if unit == '%' else ' '}{unit}", True, "+∞")
    row = target_row(label, value, limit, higher=False, unit=unit)
    return (row[0], f"{value:.{digits}f}{'' if unit == '%' else ' '}{unit}", row[2], row[3])


def targets(result: dict) -> list[tuple[str, str, bool | None, str]]:
    lat, idle_ = result["latency"], result["idle"]
    n = lat["subscribers"]
    cpu_percent = idle_["cpu"] / idle_["cpu_wall"] * 100
    return [
        lower_row(f"publish → SSE client over Redis, {n} subscribers: p50 ≤ {P50_MS:g} ms",
                  lat["p50"], P50_MS, "ms", 2),
        lower_row(f"publish → SSE client over Redis, {n} subscribers: p99 ≤ {P99_MS:g} ms",
                  lat["p99"], P99_MS, "ms", 2),
        lower_row(f"one uvicorn worker, {idle_['connections']:,} idle SSE connections "
                  f"(heartbeat {idle_['heartbeat']:g} s): RSS < {RSS_MIB:g} MiB",
                  idle_["rss"] / 1024, RSS_MIB, "MiB", 1),
        lower_row(f"{idle_['connections']:,} idle SSE connections, no heartbeat due: server CPU "
                  f"≤ {CPU_PERCENT:g}% of one core", cpu_percent, CPU_PERCENT, "%", 2),
    ]


def _ms(values: list[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values) + " ms"


def _has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def report(result: dict) -> str:
    lat, bare, hop, idle_ = result["latency"], result["bare"], result["hop"], result["idle"]
    total = lat["subscribers"] * lat["messages"] * lat["runs"]
    per_conn = (idle_["rss"] - idle_["rss_before"]) / idle_["connections"]
    floor = (f"; with no connection open, {idle_['floor'] * 100:.2f}% (uvicorn's own ticks)"
             if "floor" in idle_ else "")
    rounds = f"{lat['runs']} rounds" if lat["runs"] > 1 else "1 round"
    n = lat["subscribers"]
    half = n // 2
    lines = [
        "## Push to browsers: `djng.pubsub` over Redis into `djng.sse`, wall-clock time",
        "",
        f"Server: an async view streaming `djng.sse(djng.pubsub.subscribe(channel))`, "
        f"`djng.pubsub.Redis` (one Redis connection per process for all its subscriptions), under "
        f"{_uvicorn_title()}, `--backlog 2048`. Clients: raw asyncio sockets in the bench "
        f"process, on {'uvloop' if _has_uvloop() else 'asyncio'} (an HTTP/1.1 GET, the chunked "
        "body stamped as it arrives and split into events after the run). Redis on loopback.",
        "",
        f"Latency: {lat['subscribers']} SSE clients on one channel; once Redis counts them "
        f"all (`PUBSUB NUMSUB`), a warm-up message, then {lat['messages']} messages published "
        "with redis-py, each carrying its send time, one at a time: the next once every client "
        f"has the last (the server idle again) and at least {SPACING * 1e3:g} ms after it. A "
        "delivery's latency is its arrival at the client minus the send time. "
        f"{rounds}, each of djng and then of the bare app: a bare ASGI app of the same design "
        "with no framework (one redis-py connection, a queue per client, the same event text; "
        "`bench.push.bare_asgi`) under the same uvicorn, which says what uvicorn, redis-py and "
        "the sockets cost alone on this machine.",
        "",
        "| figure | djng | bare ASGI app |",
        "|---|---|---|",
        f"| deliveries | {lat['deliveries']:,} of {total:,}; {lat['complete']} of "
        f"{lat['subscribers'] * lat['runs']} streams got every message in order | "
        f"{bare['deliveries']:,}; {bare['complete']} complete |",
        f"| latency p50 / p99 / max | {lat['p50']:.2f} / {lat['p99']:.2f} / "
        f"{lat['max']:.2f} ms | {bare['p50']:.2f} / {bare['p99']:.2f} / {bare['max']:.2f} ms |",
        f"| p50 of each round | {_ms(lat['run_p50s'])} | {_ms(bare['run_p50s'])} |",
        f"| per message: first client / last client, median over messages | "
        f"{lat['first']:.2f} / {lat['last']:.2f} ms | {bare['first']:.2f} / "
        f"{bare['last']:.2f} ms |",
        f"| server CPU per delivery (while publishing) | {lat['cpu_per_delivery_us']:.0f} µs "
        f"({lat['cpu'] / lat['wall'] * 100:.0f}% of one core): at most "
        f"~{1e6 / lat['cpu_per_delivery_us']:,.0f} deliveries a second on one core | "
        f"{bare['cpu_per_delivery_us']:.0f} µs |",
        f"| the bench's own CPU per delivery (clients and publisher) | {lat['client_us']:.0f} µs "
        f"| {bare['client_us']:.0f} µs |",
        "",
        f"Redis alone, the hop every delivery above includes (the same {hop['messages']} "
        "messages, published the same way, to one redis-py subscriber in another process, "
        f"no web server): p50 {hop['p50']:.2f} ms, p99 {hop['p99']:.2f} ms. So the p50 target "
        f"of {P50_MS:g} ms leaves {P50_MS - hop['p50']:.2f} ms for the median delivery, number "
        f"{half} of the {n} that one process writes in turn: "
        f"{(P50_MS - hop['p50']) * 1e3 / half:.0f} µs each at most, against the bare app's "
        f"{bare['cpu_per_delivery_us']:.0f} µs of CPU per delivery (uvicorn's send and the "
        "socket's write, mostly).",
        "",
        "| figure | measured |",
        "|---|---|",
        f"| {idle_['connections']:,} idle connections: open and subscribed in | "
        f"{idle_['open_s']:.2f} s |",
        f"| server RSS: fresh / {idle_['connections']:,} open / after their heartbeats "
        f"(peak) | {idle_['rss_before'] / 1024:.1f} / {idle_['rss_open'] / 1024:.1f} / "
        f"{idle_['rss'] / 1024:.1f} MiB ({idle_['rss_peak'] / 1024:.1f}); "
        f"{per_conn:.0f} KiB per connection |",
        f"| heartbeats every {idle_['heartbeat']:g} s, over {idle_['heartbeat'] * 1.5:g} s | "
        f"{idle_['beating']:,} of {idle_['connections']:,} clients got one; server CPU "
        f"{idle_['cpu_heartbeats'] * 100:.2f}% of one core |",
        f"| all unsubscribed after the clients left | {idle_['unsubscribed_s']:.2f} s |",
        f"| {idle_['connections']:,} idle connections (heartbeat {idle_['quiet']:g} s), "
        f"{idle_['cpu_wall']:.1f} s window with no heartbeat due "
        f"({idle_['quiet_heartbeats']} arrived) | server CPU {idle_['cpu']:.2f} s: "
        f"{idle_['cpu'] / idle_['cpu_wall'] * 100:.2f}% of one core{floor} |",
        "",
        f"CPU: utime + stime of the uvicorn process (`/proc/<pid>/stat`, "
        f"{CLOCK_TICKS} ticks a second); RSS: `VmRSS` (peak: `VmHWM`) of it and any children.",
        "",
        *targets_table(targets(result)),
    ]
    return "\n".join(lines)
