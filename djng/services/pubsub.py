"""``djng.pubsub``: publish messages to channels, and subscribe to them, on a swappable broker.

``Memory()`` (the default) delivers within this process; ``Redis(url)`` uses
Redis pub/sub, so workers and web processes on many machines take part
(``DJNG_PUBSUB_URL``, else the cache's Redis when the cache is Redis). A
message is a native object, sent as JSON text on the channel named as given
(no prefix), so any Redis client can publish: ``PUBLISH tasks.7 '{"done": true}'``.

``djng.pubsub.publish(channel, message)`` from sync code (inside
``djng.db.atomic()`` it is sent when the transaction commits, and dropped on
rollback); ``await djng.pubsub.apublish(...)`` from async code;
``async for message in djng.pubsub.subscribe('tasks.7'):`` to listen (or
``async with djng.pubsub.subscribe(...) as messages:`` to listen from the start
of the block, before publishing what will answer). A
subscription ends (and unsubscribes) when its consumer stops; over Redis it
survives a lost connection, reconnecting with backoff, and then yields a
:class:`Message` whose ``missed`` is true: messages may have been lost.
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncIterator
from typing import Any

from . import _url
from .stack import Service

__all__ = ["Memory", "Message", "PubSub", "Redis", "Subscription", "from_url", "pubsub"]

#: Messages a subscriber may fall behind by before the oldest are dropped (Memory).
BACKLOG = 10_000


class Message:
    """What a subscription yields: ``channel`` and ``data`` (the decoded message);
    or, with ``missed`` true, a note that messages may have been lost (a
    reconnection, a subscriber that fell too far behind)."""

    __slots__ = ("channel", "data", "missed")

    def __init__(self, channel: str | None, data: Any, missed: bool = False) -> None:
        self.channel = channel
        self.data = data
        self.missed = missed

    def __repr__(self) -> str:
        if self.missed:
            return "<Message: messages may have been missed>"
        return f"<Message {self.channel!r} {self.data!r:.60}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.channel, self.data, self.missed) == (
            other.channel, other.data, other.missed)


class PubSub:
    """A broker: :meth:`publish` (sync), :meth:`apublish` and :meth:`subscribe` (async)."""

    def publish(self, channel: str, message: Any) -> None:
        """Send ``message`` to ``channel``'s subscribers, now or when the transaction in
        effect commits."""
        from django.db import connections

        payload = encode(channel, message)
        # The database in effect is the one whose connection this thread opened and
        # holds in a transaction (djng.db.atomic()); none is made here to find out.
        for connection in connections.all(initialized_only=True):
            if connection.in_atomic_block:
                connection.on_commit(lambda: self._send(channel, payload))
                return
        self._send(channel, payload)

    async def apublish(self, channel: str, message: Any) -> None:
        """Send ``message`` to ``channel``'s subscribers (from async code)."""
        await self._asend(channel, encode(channel, message))

    def subscribe(self, *channels: str) -> Subscription:
        """The messages of ``channels`` from the time it listens (its first message
        asked for, or ``async with``) until the consumer stops."""
        if not channels or not all(isinstance(c, str) and c for c in channels):
            raise ValueError(f"subscribe() takes channel names, got {channels!r}")
        return Subscription(self._subscribe(channels))

    def _send(self, channel: str, payload: str) -> None:
        raise NotImplementedError

    async def _asend(self, channel: str, payload: str) -> None:
        raise NotImplementedError

    def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Message]:
        raise NotImplementedError


class Subscription:
    """An async iterator of :class:`Message`; also an async context manager that
    listens on entry, so that what is published after it (a job it starts) is
    never missed, and stops listening on exit::

        async with djng.pubsub.subscribe(f"search.{id}") as messages:
            await djng.pubsub.apublish("search.jobs", {"id": id})
            async for message in messages: ...
    """

    def __init__(self, messages: AsyncIterator[Any]) -> None:
        self._messages = messages  # a backend's generator: READY first, then messages
        self._listening = False

    async def listen(self) -> None:
        """Start listening now (once)."""
        if not self._listening:
            self._listening = True
            ready = await anext(self._messages)
            assert ready is READY

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        if not self._listening:
            await self.listen()
        return await anext(self._messages)

    async def aclose(self) -> None:
        """Stop listening (unsubscribe)."""
        await self._messages.aclose()

    async def __aenter__(self) -> Subscription:
        await self.listen()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


#: What a backend's subscription yields first, once it listens.
READY = object()


# -- in this process ------------------------------------------------------------------------


class Memory(PubSub):
    """Within this process: each subscriber has a queue on its own event loop; a
    publish from any thread reaches every subscriber of the channel."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[_Inbox]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "djng.pubsub.Memory()"

    def subscribers(self, channel: str) -> int:
        """How many subscriptions listen to ``channel`` (as Redis' PUBSUB NUMSUB)."""
        with self._lock:
            return len(self._subscribers.get(channel, ()))

    def _send(self, channel: str, payload: str) -> None:
        with self._lock:
            inboxes = list(self._subscribers.get(channel, ()))
        for inbox in inboxes:
            inbox.put(Message(channel, json.loads(payload)))

    async def _asend(self, channel: str, payload: str) -> None:
        self._send(channel, payload)

    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Message]:
        inbox = _Inbox(asyncio.get_running_loop())
        with self._lock:
            for channel in channels:
                self._subscribers.setdefault(channel, set()).add(inbox)
        try:
            yield READY
            while True:
                yield await inbox.get()
        finally:
            with self._lock:
                for channel in channels:
                    listening = self._subscribers.get(channel)
                    if listening is not None:
                        listening.discard(inbox)
                        if not listening:
                            del self._subscribers[channel]


class _Inbox:
    """One subscriber's messages, put from any thread, taken on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.overflowed = False

    def put(self, message: Message) -> None:
        try:
            self.loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # its loop is closed: the subscriber is gone
            pass

    def _put(self, message: Message) -> None:
        if self.queue.qsize() >= BACKLOG:
            self.queue.get_nowait()  # drop the oldest; the subscriber hears of it
            self.overflowed = True
        self.queue.put_nowait(message)

    async def get(self) -> Message:
        if self.overflowed:
            self.overflowed = False
            return Message(None, None, missed=True)
        return await self.queue.get()


# -- Redis --------------------------------------------------------------------------------------


class Redis(PubSub):
    """Redis pub/sub at ``url`` (redis-py: ``pip install 'djng[redis]'``).

    Publishing uses one pooled connection per process (and per event loop for
    ``apublish``, closed with the loop); each subscription has a connection of its
    own. ``timeout`` bounds connecting and publishing; a subscription whose first
    connection fails raises redis' ``ConnectionError``, and one that loses its
    connection later reconnects with backoff up to ``max_backoff`` seconds.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, max_backoff: float = 5.0) -> None:
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"djng.pubsub.Redis needs a redis:// URL, got {url!r}")
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ImportError("djng.pubsub.Redis needs redis-py: pip install 'djng[redis]'",
                              name="redis") from None
        self.url = url
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"djng.pubsub.Redis({_url.redact(self.url)!r})"

    def _options(self) -> dict[str, Any]:
        return {"socket_connect_timeout": self.timeout, "socket_timeout": self.timeout,
                "decode_responses": True}

    def _send(self, channel: str, payload: str) -> None:
        with self._lock:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self.url, **self._options())
                weakref.finalize(self, self._client.close)
        self._client.publish(channel, payload)

    async def _asend(self, channel: str, payload: str) -> None:
        from redis.exceptions import ConnectionError as Lost

        loop = asyncio.get_running_loop()
        pooled = self._async_clients.get(loop)
        if pooled is None:
            import redis.asyncio

            from .clients import close_with_loop

            client = redis.asyncio.Redis.from_url(self.url, **self._options())
            pooled = self._async_clients[loop] = (client, await close_with_loop(client))
        try:
            await pooled[0].publish(channel, payload)
        except Lost:  # a pooled connection Redis dropped (a restart): once more, afresh
            await pooled[0].connection_pool.disconnect()
            await pooled[0].publish(channel, payload)

    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Message]:
        import redis.asyncio
        from redis.exceptions import ConnectionError as Lost
        from redis.exceptions import TimeoutError as Slow

        options = {**self._options(), "socket_timeout": None}  # a quiet channel is not lost
        pause = 0.05
        lost = False
        ready = False  # the first connection must work: a broker that is down says so
        while True:
            client = redis.asyncio.Redis.from_url(self.url, **options)
            listening = client.pubsub(ignore_subscribe_messages=True)
            try:
                await listening.subscribe(*channels)
                if not ready:
                    ready = True
                    yield READY
                if lost:  # subscribed again: what was published meanwhile is gone
                    lost, pause = False, 0.05
                    yield Message(None, None, missed=True)
                while True:
                    raw = await listening.get_message(timeout=None)
                    if raw is not None and raw.get("type") == "message":
                        yield Message(raw["channel"], decode(raw["data"]))
            except (Lost, Slow, OSError):
                if not ready:
                    raise
                lost = True
            finally:
                await _close(listening, client, channels)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.max_backoff)


async def _close(listening: Any, client: Any, channels: tuple[str, ...]) -> None:
    """Unsubscribe (when the connection still stands) and close, without raising."""
    try:
        await asyncio.wait_for(listening.unsubscribe(*channels), 1.0)
    except Exception:  # the connection is gone: Redis has dropped the subscription itself
        pass
    try:
        await listening.aclose()
        await client.aclose()
    except Exception:
        pass


# -- the wire format ----------------------------------------------------------------------------


def encode(channel: str, message: Any) -> str:
    """``message`` as JSON text; a clear error for one JSON cannot carry."""
    if not isinstance(channel, str) or not channel:
        raise ValueError(f"publish() needs a channel name, got {channel!r}")
    import msgspec

    try:
        return msgspec.json.encode(message).decode()
    except TypeError as exc:
        raise TypeError(f"djng.pubsub: the message for {channel!r} cannot be sent as JSON: {exc}"
                        ) from None


def decode(payload: Any) -> Any:
    """A message as published: JSON, or the text itself from a publisher that sent other text."""
    try:
        return json.loads(payload)
    except (TypeError, ValueError):
        return payload


# -- the service --------------------------------------------------------------------------------


def from_url(url: str) -> PubSub:
    """``memory://`` or a ``redis://`` / ``rediss://`` / ``unix://`` URL."""
    if url in ("memory://", "memory:"):
        return Memory()
    return Redis(url)


def _default() -> PubSub:
    """Memory, unless the cache is Redis: then the same Redis."""
    from django.core.cache.backends.redis import RedisCache

    from .cache import cache

    backend = cache.default()
    url = getattr(backend, "url", None)  # djng.cache.Redis keeps the URL it was given
    if isinstance(backend, RedisCache) and isinstance(url, str):
        # The first server (the one that takes writes, when the cache names several),
        # without the cache's options (a socket_timeout would cut quiet subscriptions).
        return Redis(url.split(",", 1)[0].split("?", 1)[0])
    return Memory()


def _coerce(backend: Any) -> PubSub:
    if isinstance(backend, PubSub):
        return backend
    raise TypeError("Use djng.pubsub.Memory(), djng.pubsub.Redis(url) or a pubsub URL")


class PubSubService(Service[PubSub]):
    Memory = Memory
    Redis = Redis
    Message = Message

    def publish(self, channel: str, message: Any) -> None:
        self.current().publish(channel, message)

    async def apublish(self, channel: str, message: Any) -> None:
        await self.current().apublish(channel, message)

    def subscribe(self, *channels: str) -> Subscription:
        return self.current().subscribe(*channels)


pubsub = PubSubService(
    "pubsub",
    expects="djng.pubsub.Memory() or djng.pubsub.Redis(url)",
    coerce=_coerce,
    default=_default,
    from_text=from_url,
    environ=("DJNG_PUBSUB_URL",),
)
