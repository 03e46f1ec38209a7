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
import contextlib
import json
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from . import _url
from .stack import Service

__all__ = ["Memory", "Message", "PubSub", "Redis", "Subscription", "from_url", "pubsub"]

#: Messages a subscriber may fall behind by before the oldest are dropped (Memory).
BACKLOG = 10_000


class Message:
    """What a subscription yields: ``channel`` and ``data`` (the decoded message, the
    same object for every subscriber in the process: read it, do not change it);
    or, with ``missed`` true, a note that messages may have been lost (a
    reconnection, a subscriber that fell too far behind)."""

    __slots__ = ("channel", "data", "missed", "text")

    def __init__(self, channel: str | None, data: Any, missed: bool = False,
                 text: str | None = None) -> None:
        self.channel = channel
        self.data = data
        self.missed = missed
        #: The message as it travelled (JSON text), when it was JSON: what SSE sends on.
        self.text = text

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
        if not channels or not all(isinstance(c, str) and c and not any(
                ch in c for ch in "\r\n\0") for c in channels):
            raise ValueError(f"subscribe() takes channel names (one line each), got {channels!r}")
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
        self._messages = messages  # a backend's generator: its inbox first, then messages
        self._listening = False
        #: Where the messages wait, once it listens (``djng.sse`` takes them from there).
        self.inbox: _Inbox | None = None

    async def listen(self) -> None:
        """Start listening now (once)."""
        if not self._listening:
            self._listening = True
            self.inbox = await anext(self._messages)

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
        message = Message(channel, json.loads(payload), text=payload)  # shared, as from Redis
        for inbox in inboxes:
            inbox.put(message)

    async def _asend(self, channel: str, payload: str) -> None:
        self._send(channel, payload)

    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Message]:
        inbox = _Inbox(asyncio.get_running_loop())
        with self._lock:
            _register(self._subscribers, inbox, channels)
        try:
            yield inbox  # listening: the Subscription takes note
            while True:
                yield await inbox.get()
        finally:
            with self._lock:
                _unregister(self._subscribers, inbox, channels)


def _register(table: dict[str, set[_Inbox]], inbox: _Inbox, channels: tuple[str, ...]) -> list:
    """Note that ``inbox`` listens to ``channels``; those nobody listened to before."""
    new = [channel for channel in channels if channel not in table]
    for channel in channels:
        table.setdefault(channel, set()).add(inbox)
    return new


def _unregister(table: dict[str, set[_Inbox]], inbox: _Inbox, channels: tuple[str, ...]) -> list:
    """Forget ``inbox``; the channels nobody listens to any more."""
    gone = []
    for channel in channels:
        listening = table.get(channel)
        if listening is not None:
            listening.discard(inbox)
            if not listening:
                del table[channel]
                gone.append(channel)
    return gone


class _Inbox:
    """One subscriber's messages, put from any thread, taken on its loop by its one
    reader. A deque and the reader's waiter, not an ``asyncio.Queue``: a message for a
    thousand subscribers is a thousand of these puts and wake-ups."""

    __slots__ = ("loop", "messages", "waiter", "overflowed")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.messages: deque[Message] = deque(maxlen=BACKLOG)
        self.waiter: asyncio.Future | None = None
        self.overflowed = False

    def put(self, message: Message) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # no need to wake a loop that is running this
            self._put(message)
            return
        try:
            self.loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # its loop is closed: the subscriber is gone
            pass

    def _put(self, message: Message) -> None:
        if len(self.messages) == self.messages.maxlen:
            self.overflowed = True  # the deque drops the oldest; the subscriber hears of it
        self.messages.append(message)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Message:
        if self.overflowed:
            self.overflowed = False
            return Message(None, None, missed=True)
        messages = self.messages
        while not messages:
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return messages.popleft()

    def missed(self) -> None:
        """Tell the subscriber that messages may have been lost (on its loop)."""
        self._put(Message(None, None, missed=True))


# -- Redis --------------------------------------------------------------------------------------


class Redis(PubSub):
    """Redis pub/sub at ``url`` (redis-py: ``pip install 'djng[redis]'``).

    Publishing uses one pooled connection per process (and per event loop for
    ``apublish``, closed with the loop); the subscriptions of an event loop share
    one connection, each message read once and handed to each subscriber (so
    1,000 browsers listening cost one connection, not 1,000). ``timeout`` bounds
    connecting and publishing; a subscription whose first connection fails raises
    redis' ``ConnectionError``, and a lost connection is made again with backoff up
    to ``max_backoff`` seconds.
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
        self._hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"djng.pubsub.Redis({_url.redact(self.url)!r})"

    def options(self) -> dict[str, Any]:
        return {"socket_connect_timeout": self.timeout, "socket_timeout": self.timeout,
                "decode_responses": True}

    def _send(self, channel: str, payload: str) -> None:
        with self._lock:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self.url, **self.options())
                weakref.finalize(self, self._client.close)
        self._client.publish(channel, payload)

    async def _asend(self, channel: str, payload: str) -> None:
        from redis.exceptions import ConnectionError as Lost

        loop = asyncio.get_running_loop()
        pooled = self._async_clients.get(loop)
        if pooled is None:
            import redis.asyncio

            from .clients import close_with_loop

            client = redis.asyncio.Redis.from_url(self.url, **self.options())
            pooled = self._async_clients[loop] = (client, await close_with_loop(client))
        try:
            await pooled[0].publish(channel, payload)
        except Lost:  # a pooled connection Redis dropped (a restart): once more, afresh
            await pooled[0].connection_pool.disconnect()
            await pooled[0].publish(channel, payload)

    def _hub(self) -> _Hub:
        loop = asyncio.get_running_loop()
        hub = self._hubs.get(loop)
        if hub is None:
            hub = self._hubs[loop] = _Hub(self)
        return hub

    async def _subscribe(self, channels: tuple[str, ...]) -> AsyncIterator[Message]:
        hub = self._hub()
        inbox = _Inbox(asyncio.get_running_loop())
        await hub.add(inbox, channels)
        try:
            yield inbox  # listening: the Subscription takes note
            while True:
                yield await inbox.get()
        finally:
            await hub.remove(inbox, channels)


class _Hub:
    """The subscriptions of one event loop to one Redis, on one connection: each
    message is read and parsed once, then handed to every local subscriber of its
    channel. The connection closes when the last subscription ends; a lost one is
    made again with backoff, every channel subscribed again, and every subscriber
    told that messages may have been missed."""

    def __init__(self, broker: Redis) -> None:
        self.broker = broker
        self.inboxes: dict[str, set[_Inbox]] = {}
        self.lock = asyncio.Lock()
        self.client: Any = None
        self.listening: Any = None
        self.reader: asyncio.Task | None = None

    async def add(self, inbox: _Inbox, channels: tuple[str, ...]) -> None:
        async with self.lock:
            if self.reader is None:
                await self._connect()  # the first connection must work: a broker down says so
                self.reader = asyncio.get_running_loop().create_task(self._read())
            new = _register(self.inboxes, inbox, channels)
            if new and self.listening is not None:  # (reconnecting: it subscribes them all)
                try:
                    await self.listening.subscribe(*new)
                except BaseException:
                    _unregister(self.inboxes, inbox, channels)
                    raise

    async def remove(self, inbox: _Inbox, channels: tuple[str, ...]) -> None:
        async with self.lock:
            gone = _unregister(self.inboxes, inbox, channels)
            if not self.inboxes:
                await self._disconnect()
            elif gone and self.listening is not None:
                with contextlib.suppress(Exception):  # lost: Redis has dropped them itself
                    await asyncio.wait_for(self.listening.unsubscribe(*gone), self.broker.timeout)

    async def _connect(self) -> None:
        import redis.asyncio

        options = {**self.broker.options(), "socket_timeout": None}  # quiet is not lost
        self.client = redis.asyncio.Redis.from_url(self.broker.url, **options)
        self.listening = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await self.listening.connect()
        except BaseException:
            await self._close_connection()
            raise

    async def _disconnect(self) -> None:
        reader, self.reader = self.reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.wait({reader})  # its end, without taking on its exception
        await self._close_connection()

    async def _close_connection(self) -> None:
        listening, client, self.listening, self.client = self.listening, self.client, None, None
        with contextlib.suppress(Exception):
            if listening is not None:
                await listening.aclose()
            if client is not None:
                await client.aclose()

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.listening.get_message(timeout=None)
            except Exception:  # lost (ConnectionError, OSError), or a reply it cannot read
                if not await self._reconnect():
                    return
                continue
            if raw is None or raw.get("type") != "message":
                continue
            text = raw["data"]
            data = decode(text)  # once: every subscriber shares it (they read, not change)
            message = Message(raw["channel"], data, text=text if data is not text else None)
            for inbox in tuple(self.inboxes.get(raw["channel"], ())):
                inbox._put(message)  # noqa: SLF001

    async def _reconnect(self) -> bool:
        """Connect and subscribe again (True), or stop: nobody listens any more (False)."""
        pause = 0.05
        while True:
            async with self.lock:
                await self._close_connection()
                if not self.inboxes:
                    self.reader = None
                    return False
                try:
                    await self._connect()
                    await self.listening.subscribe(*self.inboxes)
                except Exception:
                    await self._close_connection()
                else:
                    for inbox in {inbox for group in self.inboxes.values() for inbox in group}:
                        inbox.missed()
                    return True
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.broker.max_backoff)


# -- the wire format ----------------------------------------------------------------------------


def encode(channel: str, message: Any) -> str:
    """``message`` as JSON text; a clear error for one JSON cannot carry."""
    if not isinstance(channel, str) or not channel:
        raise ValueError(f"publish() needs a channel name, got {channel!r}")
    from .. import wire

    try:
        return wire.encode(message).decode()
    except (TypeError, NotImplementedError) as exc:
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
    from .cache import Redis as RedisCache
    from .cache import cache

    backend = cache.default()
    if isinstance(backend, RedisCache):  # it keeps the URL it was given
        # The first server (the one that takes writes, when the cache names several),
        # without the cache's options (a socket_timeout would cut quiet subscriptions).
        return Redis(backend.url.split(",", 1)[0].split("?", 1)[0])
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
