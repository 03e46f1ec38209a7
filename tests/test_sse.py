"""djng.sse: the wire format, heartbeats, pubsub messages as events, under the test
clients, a real uvicorn (20 clients, a publisher in another process) and djng.serve()."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest
from conftest import TIMEOUT, free_port, require, server_url, wait_for_http

import djng
from djng.services.pubsub import Memory, Message

#: Upper bound for any one network read or wait of these tests.
WAIT = 10

Event = djng.sse.Event


def parse(stream: bytes) -> list[dict]:
    """The events of ``stream`` as a browser's EventSource reads them (the WHATWG
    algorithm): each a dict of event, data, id (and retry when one came)."""
    events, data, fields = [], [], {}
    text = stream.decode()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for line in lines[:-1]:  # the text after the last line break is incomplete
        if line == "":
            if data:
                events.append({"event": fields.get("event", "message"),
                               "data": "\n".join(data), "id": fields.get("id")})
            data, fields = [], {k: v for k, v in fields.items() if k == "id"}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("event", "id"):
            fields[name] = value
        elif name == "retry":
            events.append({"retry": int(value)})
    return events


# -- the wire format ---------------------------------------------------------------------------


def test_an_event_on_the_wire():
    assert Event({"a": [1, "é"]}, event="tick", id=7, retry=1500).encode() == (
        'event: tick\nid: 7\nretry: 1500\ndata: {"a":[1,"é"]}\n\n'.encode())
    assert Event("plain").encode() == b"data: plain\n\n"
    assert Event().encode() == b"data: \n\n"
    assert Event(42).encode() == b"data: 42\n\n"
    assert Event("a\nb\r\nc\rd").encode() == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert Event(None, id="x-1").encode() == b"id: x-1\ndata: null\n\n"


@pytest.mark.parametrize("text", ["one", "", "two\nlines", "trailing\n", "\n\nblank\n",
                                  "cr\rlf\r\nmixed", ": not a comment", "data: nested",
                                  " leading space", "ünï☃"])
def test_data_reaches_a_browser_exactly(text):
    # Exactly, but for line breaks: EventSource hands every one over as LF.
    received = text.replace("\r\n", "\n").replace("\r", "\n")
    assert parse(Event(text, event="e", id=3).encode()) == [
        {"event": "e", "data": received, "id": "3"}]


def test_bad_arguments_raise_clear_errors():
    async def nothing():
        yield "x"

    for heartbeat in (0, -1, "15"):
        with pytest.raises(ValueError, match=r"heartbeat"):
            djng.sse(nothing(), heartbeat=heartbeat)
    for retry in (-1, 1.5, "1000", "1\ndata: injected"):
        with pytest.raises(ValueError, match=r"retry"):
            djng.sse(nothing(), retry=retry)
    with pytest.raises(ValueError, match=r"id.*line break"):
        Event("x", id="1\ndata: injected")
    with pytest.raises(ValueError, match=r"event.*line break"):
        Event("x", event="a\rb")
    with pytest.raises(ValueError, match=r"retry"):
        Event("x", retry=-5)
    for events in (42, None, "a string", b"bytes", nothing):
        with pytest.raises(TypeError, match=r"iterable of events"):
            djng.sse(events)


# -- through the test clients ------------------------------------------------------------------


@pytest.fixture(params=["AsyncClient", "Client"])
def get(request):
    """``get(app, path, headers=None)``: the response through djng.asgi or djng.wsgi."""
    if request.param == "AsyncClient":
        return lambda app, path, **kw: asyncio.run(
            asyncio.wait_for(djng.testing.AsyncClient(app).get(path, **kw), WAIT))
    return lambda app, path, **kw: djng.testing.Client(app).get(path, **kw)


def test_items_of_every_kind_become_events(get):
    async def stream(request):
        async def events():
            yield Event("first", event="greeting", id=1)
            yield "text as is"
            yield {"json": [1, 2]}
            yield Message("orders.7", {"paid": True})
            yield Message(None, None, missed=True)
        return djng.sse(events())

    response = get(djng.Router(djng.path("s", stream)), "/s")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    assert response.content == (
        b": heartbeat\n\n"  # sent at once, so that the browser's onopen fires
        b"event: greeting\nid: 1\ndata: first\n\n"
        b"data: text as is\n\n"
        b'data: {"json":[1,2]}\n\n'
        b'event: orders.7\ndata: {"paid":true}\n\n'
        b'event: missed\ndata: {"missed":true}\n\n'
    )


def test_heartbeats_while_idle_and_retry_first(get):
    async def stream(request):
        async def events():
            yield "one"
            await asyncio.sleep(0.55)
            yield "two"
        return djng.sse(events(), heartbeat=0.1, retry=2500)

    body = get(djng.Router(djng.path("s", stream)), "/s").content
    assert body.startswith(b"retry: 2500\n\ndata: one\n\n")
    assert body.endswith(b"data: two\n\n")
    between = body[len(b"retry: 2500\n\ndata: one\n\n"):-len(b"data: two\n\n")]
    assert 3 <= between.count(b": heartbeat\n\n") <= 6, between
    assert between == b": heartbeat\n\n" * between.count(b": heartbeat\n\n")
    assert parse(body) == [{"retry": 2500}, {"event": "message", "data": "one", "id": None},
                           {"event": "message", "data": "two", "id": None}]


def test_the_view_reads_last_event_id(get):
    def resume(request):
        last = int(request.headers.get("Last-Event-ID", "0"))
        return djng.sse(Event(n, id=n) for n in range(last + 1, last + 4))

    app = djng.Router(djng.path("s", resume))
    assert [e["id"] for e in parse(get(app, "/s").content)] == ["1", "2", "3"]
    resumed = parse(get(app, "/s", headers={"Last-Event-ID": "41"}).content)
    assert [(e["id"], e["data"]) for e in resumed] == [("42", "42"), ("43", "43"), ("44", "44")]


def test_a_sync_iterable_is_streamed_without_heartbeats(get):
    def stream(request):
        return djng.sse(["a", {"b": 1}, Event("c", id=1)], retry=10)

    assert get(djng.Router(djng.path("s", stream)), "/s").content == (
        b'retry: 10\n\ndata: a\n\ndata: {"b":1}\n\nid: 1\ndata: c\n\n')


def test_a_generator_keeps_one_context_across_its_yields_and_heartbeats(get):
    """What a generator sets in a context variable holds for its later events and
    its close (``with djng.cache.use(...)`` around yields), whether heartbeats went
    meanwhile or not, async or sync."""
    color = contextvars.ContextVar("color", default="none")

    def painted():
        token = color.set("blue")
        try:
            for n in range(3):
                yield {"n": n, "color": color.get()}
        finally:
            color.reset(token)  # a token from another context: ValueError

    async def apainted():
        token = color.set("blue")
        try:
            for n in range(3):
                await asyncio.sleep(0.03)
                yield {"n": n, "color": color.get()}
        finally:
            color.reset(token)

    app = djng.Router(
        djng.path("sync", lambda request: djng.sse(painted())),
        djng.path("async", lambda request: djng.sse(apainted(), heartbeat=0.01)),
    )
    for path in ("/sync", "/async"):
        events = [e for e in parse(get(app, path).content) if "data" in e]
        assert [json.loads(e["data"]) for e in events] == [
            {"n": n, "color": "blue"} for n in range(3)], path


def test_a_subscription_is_the_event_source(get):
    """A view streams ``djng.pubsub.subscribe(...)``; messages published meanwhile from
    another thread arrive as events; the subscription ends with the stream."""
    broker = Memory()
    djng.pubsub.configure(broker)
    name = f"news-{uuid.uuid4().hex[:8]}"

    async def until_bye(messages):
        async with messages:
            async for message in messages:
                yield message
                if message.data == "bye":
                    return

    async def stream(request):
        return djng.sse(until_bye(djng.pubsub.subscribe(name, "other")), heartbeat=5)

    app = djng.Router(djng.path("s", stream))
    result = {}
    reader = threading.Thread(target=lambda: result.update(response=get(app, "/s")))
    reader.start()
    try:
        deadline = time.monotonic() + WAIT
        while broker.subscribers(name) != 1:
            assert time.monotonic() < deadline, "the view did not subscribe"
            time.sleep(0.01)
        djng.pubsub.publish(name, "one")
        djng.pubsub.publish("other", {"n": 2})
        asyncio.run(djng.pubsub.apublish(name, "bye"))
    finally:
        reader.join(WAIT)
    assert not reader.is_alive()
    assert parse(result["response"].content) == [
        {"event": name, "data": "one", "id": None},
        {"event": "other", "data": '{"n":2}', "id": None},
        {"event": name, "data": "bye", "id": None},
    ]
    assert broker.subscribers(name) == broker.subscribers("other") == 0


# -- a real uvicorn, a publisher in another process, and djng.serve() ----------------------------


APP = '''
import djng


async def events(request):
    channels = request.GET.getlist("channel")
    heartbeat = float(request.GET.get("heartbeat", "15"))
    return djng.sse(djng.pubsub.subscribe(*channels), heartbeat=heartbeat)


def fast(request):
    return {"pubsub": repr(djng.pubsub.current())}


app = djng.Router(djng.path("events", events), djng.path("fast", fast))
application = djng.asgi(app)

if __name__ == "__main__":
    import sys

    djng.serve(app, "127.0.0.1", int(sys.argv[1]), migrate=False)
'''

#: Run in another process: publish COUNT numbered messages on two channels, then "done".
PUBLISHER = '''
import sys
import djng
a, b, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n in range(count):
    djng.pubsub.publish(a, {"n": n})
    djng.pubsub.publish(b, n)
djng.pubsub.publish(a, "done")
'''


@pytest.fixture
def redis_url() -> str:
    require("redis", extra="redis")
    return server_url("DJNG_TEST_REDIS_URL", "Redis", "redis://127.0.0.1:6379/0")


@pytest.fixture
def numsub(redis_url):
    """``numsub(channel)``: PUBSUB NUMSUB on the test Redis; ``numsub.until(channel, n)``."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=WAIT, socket_timeout=WAIT)

    def count(name: str) -> int:
        return dict(client.pubsub_numsub(name))[name.encode()]

    def until(name: str, expected: int, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while (seen := count(name)) != expected:
            if time.monotonic() > deadline:
                pytest.fail(f"{name!r}: {seen} subscription(s), not {expected}, in {timeout}s")
            time.sleep(0.01)

    count.until = until
    yield count
    client.close()


@pytest.fixture
def site(tmp_path, spawn, redis_url):
    """``site(server)``: the APP served by 'uvicorn' or 'serve' (werkzeug), with
    DJNG_PUBSUB_URL on the test Redis; its base URL."""
    from production.conftest import service_env

    (tmp_path / "sse_app.py").write_text(textwrap.dedent(APP))
    env = service_env(DJNG_PUBSUB_URL=redis_url)

    def _site(server: str) -> str:
        port = free_port()
        if server == "uvicorn":
            require("uvicorn")
            command = [sys.executable, "-m", "uvicorn", "sse_app:application", "--host",
                       "127.0.0.1", "--port", str(port), "--no-access-log",
                       "--timeout-graceful-shutdown", "1"]
        else:
            command = [sys.executable, "sse_app.py", str(port)]
        proc = spawn(command, cwd=tmp_path, env=env)
        base = f"http://127.0.0.1:{port}"
        status, _, body = wait_for_http(f"{base}/fast", proc)
        assert status == 200 and b"Redis" in body, body
        return base

    return _site


class Reader:
    """Events of an SSE response read incrementally (httpx streaming)."""

    def __init__(self, response) -> None:
        self.chunks = response.aiter_raw()
        self.buffer = b""
        self.seen = 0

    async def next_events(self, count: int = 1) -> list[dict]:
        while len(parse(self.buffer)) < self.seen + count:
            try:
                self.buffer += await asyncio.wait_for(anext(self.chunks), WAIT)
            except StopAsyncIteration:
                pytest.fail(f"the stream ended: {self.buffer!r}")
        events = parse(self.buffer)[self.seen:self.seen + count]
        self.seen += count
        return events

    async def first_bytes(self) -> None:
        while not self.buffer:
            self.buffer += await asyncio.wait_for(anext(self.chunks), WAIT)

    async def until(self, data: str) -> list[dict]:
        events = []
        while not events or events[-1].get("data") != data:
            events += await self.next_events()
        return events


def test_twenty_uvicorn_clients_each_get_every_message_from_another_process(
        site, numsub, redis_url):
    require("httpx")
    import httpx
    from production.conftest import service_env

    base = site("uvicorn")
    a, b = f"feed-{uuid.uuid4().hex[:8]}", f"count-{uuid.uuid4().hex[:8]}"
    count, clients = 30, 20

    async def main():
        limits = httpx.Limits(max_connections=clients + 5)
        async with httpx.AsyncClient(base_url=base, timeout=WAIT, limits=limits) as client:
            async with contextlib.AsyncExitStack() as stack:
                responses = [
                    await stack.enter_async_context(client.stream(
                        "GET", "/events", params={"channel": [a, b]}))
                    for _ in range(clients)]
                for response in responses:
                    assert response.status_code == 200
                    assert response.headers["content-type"] == "text/event-stream"
                readers = [Reader(response) for response in responses]
                # Each stream listens before its first byte goes; the process's
                # subscriptions share one Redis connection.
                await asyncio.gather(*(r.first_bytes() for r in readers))
                assert await asyncio.to_thread(numsub, a) == 1
                # Published by another process, through djng.pubsub and DJNG_PUBSUB_URL.
                done = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-c", PUBLISHER, a, b, str(count)],
                    env=service_env(DJNG_PUBSUB_URL=redis_url), capture_output=True,
                    text=True, timeout=TIMEOUT)
                assert done.returncode == 0, done.stderr
                received = await asyncio.gather(*(r.until("done") for r in readers))
                # A client that leaves is unsubscribed; the others still hear; when all
                # have left, the process unsubscribes (below).
                await responses[0].aclose()
                await asyncio.sleep(0.2)
                again = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-c", PUBLISHER, a, b, "1"],
                    env=service_env(DJNG_PUBSUB_URL=redis_url), capture_output=True,
                    text=True, timeout=TIMEOUT)
                assert again.returncode == 0, again.stderr
                later = await asyncio.gather(*(r.until("done") for r in readers[1:]))
                assert all(len(events) == 3 for events in later), later
        await asyncio.to_thread(numsub.until, a, 0)
        await asyncio.to_thread(numsub.until, b, 0)
        return received

    received = asyncio.run(asyncio.wait_for(main(), 45))
    assert len(received) == clients
    for events in received:
        assert [e["data"] for e in events if e["event"] == a] == [
            f'{{"n":{n}}}' for n in range(count)] + ["done"]
        assert [e["data"] for e in events if e["event"] == b] == [str(n) for n in range(count)]
        assert {e["event"] for e in events} == {a, b}


def test_the_stream_arrives_incrementally_under_djng_serve(site, numsub, redis_url):
    require("httpx")
    import httpx
    import redis

    base = site("serve")
    name = f"dev-{uuid.uuid4().hex[:8]}"
    publisher = redis.Redis.from_url(redis_url, socket_connect_timeout=WAIT, socket_timeout=WAIT)

    async def main():
        async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client:
            async with client.stream("GET", "/events",
                                     params={"channel": name, "heartbeat": "0.2"}) as response:
                assert response.status_code == 200
                reader = Reader(response)
                await asyncio.to_thread(numsub.until, name, 1)
                # Each event arrives before the next one is even published.
                for n in range(3):
                    publisher.publish(name, f'{{"n": {n}}}')
                    assert await reader.next_events() == [  # the JSON text as published
                        {"event": name, "data": f'{{"n": {n}}}', "id": None}]
                before = reader.buffer.count(b": heartbeat")
                await asyncio.sleep(0.5)
                publisher.publish(name, "after a pause")
                assert (await reader.next_events())[0]["data"] == "after a pause"
                assert reader.buffer.count(b": heartbeat") >= before + 2  # while idle
        # The client left: the next heartbeat fails to send and the stream ends.
        await asyncio.to_thread(numsub.until, name, 0)

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        publisher.close()
