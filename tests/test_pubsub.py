"""djng.pubsub: Memory() and Redis(url) behave alike; Redis against real servers.

The Redis tests use ``DJNG_TEST_REDIS_URL`` (skipped without it, failed under
``DJNG_REQUIRE_SERVICES=1``), each on channels of its own; the fault tests start
a private ``redis-server`` on a free loopback port, and kill and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import subprocess
import threading
import time
import uuid

import pytest
from conftest import free_port, require, require_program, server_url, start, stop

import djng
from djng.services.pubsub import Memory, Message, Redis

#: The module (``djng.services.pubsub`` the attribute is the service).
pubsub_module = importlib.import_module("djng.services.pubsub")

#: Upper bound for any one wait of these tests (a message, a subscription, a reconnect).
WAIT = 5


def need(binary: str) -> str:
    return require_program(binary, "apt-get install redis-server")


def run(coro, timeout: float = 20):
    """Run ``coro`` on a fresh loop, failing (not hanging) after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def channel(name: str = "ch") -> str:
    """A channel name no other test (or test run sharing the Redis) uses."""
    return f"djng-test-{uuid.uuid4().hex[:12]}.{name}"


@pytest.fixture
def redis_url() -> str:
    require("redis", extra="redis")
    return server_url("DJNG_TEST_REDIS_URL", "Redis", "redis://127.0.0.1:6379/0")


@pytest.fixture
def raw_redis(redis_url):
    """redis-py talking to the test server directly (not through djng)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=WAIT, socket_timeout=WAIT,
                                  decode_responses=True)
    yield client
    client.close()


@pytest.fixture(params=["memory", "redis"])
def broker(request):
    """The broker under test: ``Memory()``, or ``Redis(DJNG_TEST_REDIS_URL)``."""
    if request.param == "memory":
        yield Memory()
        return
    url = request.getfixturevalue("redis_url")
    yield Redis(url, timeout=WAIT, max_backoff=0.5)


def numsub(broker, name: str) -> int:
    """How many subscriptions listen to ``name``: Memory's count, or Redis' PUBSUB NUMSUB."""
    if isinstance(broker, Memory):
        return broker.subscribers(name)
    import redis

    client = redis.Redis.from_url(broker.url, socket_connect_timeout=WAIT, socket_timeout=WAIT)
    try:
        return dict(client.pubsub_numsub(name))[name.encode()]
    finally:
        client.close()


async def until_numsub(broker, name: str, count: int, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while (seen := await asyncio.to_thread(numsub, broker, name)) != count:
        if time.monotonic() > deadline:
            pytest.fail(f"{name!r} has {seen} subscription(s), not {count}, after {timeout}s")
        await asyncio.sleep(0.01)


class Listener:
    """A subscription read by a task into a queue; entered once it is subscribed."""

    def __init__(self, broker, *channels: str) -> None:
        self.broker = broker
        self.channels = channels
        self.queue: asyncio.Queue[Message] = asyncio.Queue()

    async def __aenter__(self) -> Listener:
        before = [await asyncio.to_thread(numsub, self.broker, c) for c in self.channels]
        self.task = asyncio.create_task(self._read())
        for name, count in zip(self.channels, before, strict=True):
            await until_numsub(self.broker, name, count + 1)
        return self

    async def _read(self) -> None:
        async for message in self.broker.subscribe(*self.channels):
            await self.queue.put(message)

    async def next(self, timeout: float = WAIT) -> Message:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            pytest.fail(f"no message within {timeout}s on {self.channels}")

    async def take(self, count: int) -> list[Message]:
        return [await self.next() for _ in range(count)]

    async def nothing_more(self, wait: float = 0.2) -> None:
        await asyncio.sleep(wait)
        assert self.queue.empty(), self.queue.get_nowait()

    async def __aexit__(self, *exc_info: object) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


# -- the same behaviour from Memory and Redis ---------------------------------------------------


def test_messages_of_several_channels_arrive_in_order_per_channel(broker):
    a, b, other = channel("a"), channel("b"), channel("other")

    async def main():
        async with Listener(broker, a, b) as listener:
            for n in range(50):
                await broker.apublish(a, n)
                await asyncio.to_thread(broker.publish, b, {"n": n})
                await broker.apublish(other, "not subscribed")
            received = await listener.take(100)
            await listener.nothing_more()
        return received

    received = run(main())
    assert {m.channel for m in received} == {a, b}
    assert [m.data for m in received if m.channel == a] == list(range(50))
    assert [m.data for m in received if m.channel == b] == [{"n": n} for n in range(50)]
    assert not any(m.missed for m in received)


NATIVE = [
    None, True, False, 0, -7, 2**53, 3.25, "", "text", "é ünïcode ☃ 🎉", "line\nbreak",
    [], [1, "two", None, [3.5]], {}, {"nested": {"list": [1, 2], "flag": True}, "x": None},
]


def test_async_with_listens_from_the_start_of_the_block(broker):
    name = channel()

    async def main():
        async with broker.subscribe(name) as messages:
            assert numsub(broker, name) == 1  # listening already, before anything is read
            await broker.apublish(name, "answer")
            first = await asyncio.wait_for(anext(messages), WAIT)
        assert numsub(broker, name) == 0
        return first

    assert run(main()) == Message(name, "answer")


def test_native_objects_round_trip_as_json(broker):
    name = channel()

    async def main():
        async with Listener(broker, name) as listener:
            for message in NATIVE:
                broker.publish(name, message)
            await broker.apublish(name, (1, 2))  # a tuple is a JSON array: a list comes back
            return await listener.take(len(NATIVE) + 1)

    received = run(main())
    assert [m.data for m in received] == [*NATIVE, [1, 2]]
    assert all(m.channel == name and m.missed is False for m in received)
    assert received[0] == Message(name, None)


def test_a_message_json_cannot_carry_raises_type_error_naming_the_channel(broker):
    name = channel("orders.7")

    async def main():
        async with Listener(broker, name) as listener:
            with pytest.raises(TypeError, match=r"orders\.7.*JSON"):
                broker.publish(name, {"when": object()})
            with pytest.raises(TypeError, match=r"orders\.7.*JSON"):
                await broker.apublish(name, object())
            broker.publish(name, "still fine")
            assert (await listener.next()).data == "still fine"  # nothing was sent before it
            await listener.nothing_more()

    run(main())


def test_bad_channel_names_are_refused(broker):
    with pytest.raises(ValueError, match="channel"):
        broker.publish("", 1)
    with pytest.raises(ValueError, match="channel"):
        broker.subscribe()
    with pytest.raises(ValueError, match="channel"):
        broker.subscribe("ok", "")
    with pytest.raises(ValueError, match="channel"):
        broker.subscribe(b"bytes")


def test_publishing_with_no_subscribers_is_harmless(broker):
    name = channel()

    async def main():
        assert broker.publish(name, "nobody listens") is None
        assert await broker.apublish(name, {"nobody": True}) is None
        async with Listener(broker, name) as listener:  # what was published before is gone
            broker.publish(name, "heard")
            assert (await listener.next()).data == "heard"
            await listener.nothing_more()

    run(main())
    assert numsub(broker, name) == 0


def test_eight_threads_publish_while_a_subscriber_reads(broker):
    name = channel()
    per_thread = 50

    async def main():
        async with Listener(broker, name) as listener:
            barrier = threading.Barrier(8)
            errors = []

            def publisher(thread):
                try:
                    barrier.wait(WAIT)
                    for n in range(per_thread):
                        broker.publish(name, {"thread": thread, "n": n})
                except Exception as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=publisher, args=(t,)) for t in range(8)]
            for thread in threads:
                thread.start()
            received = await listener.take(8 * per_thread)  # read while they publish
            for thread in threads:
                await asyncio.to_thread(thread.join, WAIT)
            assert not errors, errors
            await listener.nothing_more()
            return received

    received = run(main())
    for thread in range(8):
        assert [m.data["n"] for m in received if m.data["thread"] == thread] == list(
            range(per_thread))


@pytest.mark.parametrize("how", ["break", "aclose", "cancel"])
def test_a_subscription_unsubscribes_when_its_consumer_stops(broker, how):
    a, b = channel("a"), channel("b")

    async def main():
        got = []

        async def consume():
            if how == "break":  # the loop holds the only reference: it is closed at once
                async for message in broker.subscribe(a, b):
                    got.append(message.data)
                    break
                return
            subscription = broker.subscribe(a, b)
            async for message in subscription:
                got.append(message.data)
                if how == "aclose":
                    await subscription.aclose()
                    return

        task = asyncio.create_task(consume())
        await until_numsub(broker, a, 1)
        await until_numsub(broker, b, 1)
        if how == "cancel":
            await asyncio.sleep(0.05)
            task.cancel()
        else:
            await broker.apublish(b, "one")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT)
        await until_numsub(broker, a, 0)
        await until_numsub(broker, b, 0)
        return got

    assert run(main()) == ([] if how == "cancel" else ["one"])
    if isinstance(broker, Memory):
        assert broker._subscribers == {}  # no empty sets left behind either


def test_a_publish_inside_atomic_is_sent_on_commit_and_dropped_on_rollback(broker):
    name = channel()
    djng.registry.setup()  # Django's apps ready: a query before would warn
    database = djng.db.SQLite(":memory:")

    class Rollback(Exception):
        pass

    async def main():
        async with Listener(broker, name) as listener:

            def transactions():
                with djng.db.use(database):
                    with djng.db.atomic():
                        broker.publish(name, "committed")
                        time.sleep(0.3)  # held until the commit, however long it takes
                        held = listener.queue.qsize()
                    with contextlib.suppress(Rollback), djng.db.atomic():
                        broker.publish(name, "rolled back")
                        raise Rollback
                    with djng.db.atomic():  # a savepoint rolled back inside a commit
                        broker.publish(name, "outer")
                        with contextlib.suppress(Rollback), djng.db.atomic():
                            broker.publish(name, "inner, rolled back")
                            raise Rollback
                    broker.publish(name, "outside any transaction")
                    return held

            held = await asyncio.to_thread(transactions)
            received = await listener.take(3)
            await listener.nothing_more()
            return held, [m.data for m in received]

    held, received = run(main())
    assert held == 0
    assert received == ["committed", "outer", "outside any transaction"]


def test_memory_drops_the_oldest_past_its_backlog_and_says_so(monkeypatch):
    monkeypatch.setattr(pubsub_module, "BACKLOG", 5)
    broker = Memory()

    async def main():
        subscription = broker.subscribe("c")
        first = asyncio.ensure_future(anext(subscription))
        await until_numsub(broker, "c", 1)
        broker.publish("c", "first")
        assert (await first).data == "first"
        for n in range(12):  # nobody reads meanwhile
            broker.publish("c", n)
        await asyncio.sleep(0.05)
        received = [await asyncio.wait_for(anext(subscription), WAIT) for _ in range(6)]
        await subscription.aclose()
        return received

    received = run(main())
    assert received[0] == Message(None, None, missed=True)
    assert [m.data for m in received[1:]] == [7, 8, 9, 10, 11]
    assert broker.subscribers("c") == 0


def test_message_repr_and_equality():
    assert Message("c", {"a": 1}) == Message("c", {"a": 1})
    assert Message("c", 1) != Message("c", 1, missed=True)
    assert "may have been missed" in repr(Message(None, None, missed=True))
    assert repr(Memory()) == "djng.pubsub.Memory()"
    assert "hunter2" not in repr(Redis("redis://:hunter2@127.0.0.1:6379/0"))


# -- Redis: other publishers, and the wire format -----------------------------------------------


def test_plain_redis_publishers_reach_a_subscriber(redis_url, raw_redis):
    name = channel("tasks.7")
    broker = Redis(redis_url)
    cli = need("redis-cli")

    async def main():
        async with Listener(broker, name) as listener:
            assert raw_redis.publish(name, '{"done": true, "items": [1, 2]}') == 1
            assert raw_redis.publish(name, "plain text, not JSON") == 1
            for text in ('{"from": "redis-cli"}', "hello from redis-cli"):
                done = await asyncio.to_thread(
                    subprocess.run, [cli, "-u", redis_url, "PUBLISH", name, text],
                    capture_output=True, text=True, timeout=WAIT)
                assert done.stdout.strip() == "1", done
            received = await listener.take(4)
            await listener.nothing_more()
            return received

    received = run(main())
    assert [m.data for m in received] == [
        {"done": True, "items": [1, 2]}, "plain text, not JSON",
        {"from": "redis-cli"}, "hello from redis-cli",
    ]
    assert {m.channel for m in received} == {name}


def test_the_wire_format_is_compact_json_on_the_channel_named_as_given(redis_url, raw_redis):
    name = channel("orders.42")
    broker = Redis(redis_url)
    listening = raw_redis.pubsub(ignore_subscribe_messages=True)
    listening.subscribe(name)
    try:
        deadline = time.monotonic() + WAIT
        while numsub(broker, name) != 1:
            assert time.monotonic() < deadline, "redis-py did not subscribe"
            time.sleep(0.01)
        broker.publish(name, {"status": "paid", "total": 12.5, "lines": [1, "é"]})
        asyncio.run(broker.apublish(name, "text"))
        payloads = []
        while len(payloads) < 2 and time.monotonic() < deadline:
            message = listening.get_message(timeout=0.5)
            if message is not None:
                payloads.append((message["channel"], message["data"]))
    finally:
        listening.close()
    assert payloads == [
        (name, '{"status":"paid","total":12.5,"lines":[1,"é"]}'),
        (name, '"text"'),
    ]


# -- Redis: a server that goes away ------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free loopback port: ``.url``, ``.kill()``,
    ``.start()`` (again, on the same port)."""
    require("redis", extra="redis")
    binary = need("redis-server")

    class Server:
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = start([binary, "--port", str(self.port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                              cwd=tmp_path)
            import redis

            deadline = time.monotonic() + WAIT
            while True:
                try:
                    with redis.Redis(port=self.port, socket_connect_timeout=1) as client:
                        client.ping()
                    return
                except redis.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        out, err = self.proc.communicate(timeout=WAIT)
                        pytest.fail(f"redis-server did not start: {out}{err}")
                    time.sleep(0.02)

        def kill(self):
            stop(self.proc)

    server = Server()
    server.start()
    yield server
    server.kill()


def test_a_subscription_survives_a_redis_restart_and_says_messages_were_missed(private_redis):
    import redis

    broker = Redis(private_redis.url, timeout=2, max_backoff=0.2)
    name = channel()

    async def main():
        async with Listener(broker, name) as listener:
            broker.publish(name, "before")
            assert (await listener.next()).data == "before"
            private_redis.kill()
            with pytest.raises(redis.ConnectionError):
                broker.publish(name, "while down")  # the publisher hears of it
            await asyncio.sleep(0.5)  # the subscription retries meanwhile
            assert listener.queue.empty()  # ...without raising or yielding anything
            assert not listener.task.done()
            private_redis.start()
            marker = await listener.next()  # subscribed again: it says what may be lost
            assert marker == Message(None, None, missed=True)
            await until_numsub(broker, name, 1)
            for n in range(5):
                broker.publish(name, n)
            received = await listener.take(5)
            await listener.nothing_more()
            return received

    assert [m.data for m in run(main())] == list(range(5))


def test_a_refusing_redis_fails_the_subscription_and_publishing_quickly():
    """Down from the start: subscribing says so (the view can answer an error, the
    browser retry) instead of waiting forever; publishing too."""
    import redis

    broker = Redis(f"redis://127.0.0.1:{free_port()}/0", timeout=1)  # nothing listens there
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        run(anext(broker.subscribe("c")))

    async def entered():
        async with broker.subscribe("c"):
            pass

    with pytest.raises(redis.ConnectionError):
        run(entered())
    with pytest.raises(redis.ConnectionError):
        broker.publish("c", 1)
    with pytest.raises(redis.ConnectionError):
        asyncio.run(broker.apublish("c", 1))
    assert time.monotonic() - started < 4 * broker.timeout + 1


def test_a_lost_subscription_retries_with_bounded_backoff(redis_url, raw_redis):
    """Once it listened, a subscription that loses Redis retries, neither raising
    nor busy-looping: about 9 attempts in 1.5 s with backoff 0.05, 0.1, 0.2, 0.2..."""
    import redis

    broker = Redis(redis_url, timeout=1, max_backoff=0.2)
    name = channel()
    attempts = []
    original = redis.asyncio.Redis.from_url

    def refused(*args, **kwargs):  # every reconnection finds nobody listening
        attempts.append(time.monotonic())
        return original(f"redis://127.0.0.1:{free_port()}/0", **kwargs)

    async def main():
        subscription = broker.subscribe(name)
        await subscription.listen()
        task = asyncio.ensure_future(anext(subscription))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(redis.asyncio.Redis, "from_url", refused)
            raw_redis.client_kill_filter(_type="pubsub")  # the connection is lost
            await asyncio.sleep(1.5)
            assert not task.done(), task  # still retrying: no exception, no message
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await subscription.aclose()

    run(main())
    assert 3 <= len(attempts) <= 15, len(attempts)
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert max(gaps) < 0.2 + 0.5, gaps  # bounded by max_backoff (and a slow machine)


# -- which broker is in effect -----------------------------------------------------------------


def test_the_default_is_memory_and_urls_pick_a_broker(monkeypatch):
    monkeypatch.delenv("DJNG_PUBSUB_URL", raising=False)
    djng.pubsub.reset()
    assert isinstance(djng.pubsub.current(), Memory)
    djng.pubsub.configure("memory://")
    assert isinstance(djng.pubsub.current(), Memory)
    djng.pubsub.configure("redis://127.0.0.1:1/0")
    assert djng.pubsub.current().url == "redis://127.0.0.1:1/0"
    with pytest.raises(ValueError, match="redis://"):
        djng.pubsub.configure("http://example.com")
    with pytest.raises(TypeError, match="djng.pubsub"):
        djng.pubsub.configure(42)
    monkeypatch.setenv("DJNG_PUBSUB_URL", "nonsense")
    djng.pubsub.reset()
    with pytest.raises(ValueError, match="DJNG_PUBSUB_URL"):
        djng.pubsub.current()


def test_djng_pubsub_url_names_the_process_default(monkeypatch, redis_url):
    monkeypatch.setenv("DJNG_PUBSUB_URL", redis_url)
    djng.pubsub.reset()
    broker = djng.pubsub.current()
    assert isinstance(broker, Redis) and broker.url == redis_url
    name = channel()

    async def main():  # the service's own functions go to it
        async with Listener(broker, name) as listener:
            djng.pubsub.publish(name, "sync")
            await djng.pubsub.apublish(name, "async")
            return [m.data for m in await listener.take(2)]

    assert run(main()) == ["sync", "async"]


def test_a_redis_cache_makes_the_same_redis_the_default(monkeypatch, redis_url):
    monkeypatch.delenv("DJNG_PUBSUB_URL", raising=False)
    djng.cache.configure(f"{redis_url}?key_prefix=app&timeout=60")
    djng.pubsub.reset()
    broker = djng.pubsub.current()
    assert isinstance(broker, Redis)
    assert broker.url == redis_url
    # Several cache servers (the first takes writes): the first one.
    djng.cache.configure(djng.cache.Redis(f"{redis_url},redis://127.0.0.1:1/0"))
    djng.pubsub.reset()
    assert djng.pubsub.current().url == redis_url
    # DJNG_PUBSUB_URL wins over the cache; a cache that is not Redis means Memory.
    monkeypatch.setenv("DJNG_PUBSUB_URL", "memory://")
    djng.pubsub.reset()
    assert isinstance(djng.pubsub.current(), Memory)
    monkeypatch.delenv("DJNG_PUBSUB_URL")
    djng.cache.configure(djng.cache.LocMem())
    djng.pubsub.reset()
    assert isinstance(djng.pubsub.current(), Memory)


def test_use_scopes_a_broker(broker):
    with djng.pubsub.use(broker):
        assert djng.pubsub.current() is broker
    assert djng.pubsub.current() is not broker
