"""``djng.sse(events)``: a response of server-sent events, for a browser's ``EventSource``.

Each item of ``events`` (an async iterable, or a plain one) is an event: an
:class:`Event` (``data``, ``event`` name, ``id``, ``retry``), a
``djng.pubsub`` message (its data; the channel is the event's name), or plain
data (text as is, anything else as JSON). While nothing comes, a comment is sent
every ``heartbeat`` seconds so that proxies keep the connection open. A
reconnecting browser sends the last id it saw as ``Last-Event-ID``
(``request.headers.get('Last-Event-ID')``), so the view can resume.

Under ``djng.asgi`` the stream holds no thread; when the client leaves, the
iteration is cancelled (a subscription it reads unsubscribes). Under the
development server it streams chunk by chunk too.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from django.http import StreamingHttpResponse

__all__ = ["Event", "sse"]


class Event:
    """One server-sent event: ``data`` (text, or JSON for anything else), and its
    ``event`` name, ``id`` and ``retry`` (milliseconds), each when given."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, data: Any = "", *, event: str | None = None, id: str | int | None = None,
                 retry: int | None = None) -> None:
        for name, value in (("event", event), ("id", id)):
            if value is not None and any(c in str(value) for c in "\r\n\0"):
                raise ValueError(f"An event's {name} cannot hold a line break: {value!r}")
        if retry is not None and not (isinstance(retry, int) and retry >= 0):
            raise ValueError(f"Event(retry=...) is milliseconds, an int >= 0, got {retry!r}")
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def encode(self) -> bytes:
        lines = []
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        data = self.data
        text = data if isinstance(data, str) else _json(data)
        # A browser ends a line at CR LF, LF or a lone CR: each becomes a data line.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines += [f"data: {line}" for line in text.split("\n")]
        return ("\n".join(lines) + "\n\n").encode()


HEARTBEAT = b": heartbeat\n\n"


def sse(events: AsyncIterable[Any] | Iterable[Any], *, heartbeat: float | None = 15.0,
        retry: int | None = None) -> StreamingHttpResponse:
    """A ``text/event-stream`` response of ``events``; ``retry`` (milliseconds) tells the
    browser how long to wait before reconnecting."""
    if heartbeat is not None and not (isinstance(heartbeat, (int, float)) and heartbeat > 0):
        raise ValueError(f"djng.sse(heartbeat=...) is seconds > 0 or None, got {heartbeat!r}")
    if retry is not None and not (isinstance(retry, int) and retry >= 0):
        raise ValueError(f"djng.sse(retry=...) is milliseconds, an int >= 0, got {retry!r}")
    from .services.pubsub import Subscription

    if isinstance(events, Subscription):
        body: Any = _subscription(events, heartbeat, retry)
    elif hasattr(events, "__aiter__"):
        body = _stream(aiter(events), heartbeat, retry)
    elif hasattr(events, "__iter__") and not isinstance(events, (str, bytes)):
        body = _plain(iter(events), retry)
    else:
        raise TypeError(f"djng.sse() needs an iterable of events, got {events!r}")
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


sse.Event = Event  # type: ignore[attr-defined] - djng.sse.Event(data, event=..., id=...)


async def _stream(events: AsyncIterator[Any], heartbeat: float | None,
                  retry: int | None) -> AsyncIterator[bytes]:
    """Any async iterable. Each item is awaited in a task, so that a heartbeat can go
    out meanwhile without interrupting it; all in one context, from the first item to
    the close, as a generator that sets a context variable across its yields
    (``with djng.cache.use(...)``) expects."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    if retry is not None:
        yield f"retry: {retry}\n\n".encode()
    else:
        yield HEARTBEAT  # the headers and a first byte go now: the browser's onopen fires
    waiting: asyncio.Future | None = None
    try:
        while True:
            if waiting is None:
                waiting = loop.create_task(anext(events), context=context)
            done, _ = await asyncio.wait({waiting}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            try:
                item = waiting.result()
            except StopAsyncIteration:
                return
            finally:
                waiting = None
            yield _event(item).encode()
    finally:
        if waiting is not None:  # the client left while an event was awaited
            waiting.cancel()
            await asyncio.wait({waiting})  # the iteration ends first: then it can be closed
            if not waiting.cancelled():
                waiting.exception()  # it failed as the client left: nobody is left to tell
        close = getattr(events, "aclose", None)
        if close is not None:
            await loop.create_task(close(), context=context)


async def _subscription(subscription: Any, heartbeat: float | None,
                        retry: int | None) -> AsyncIterator[bytes]:
    """A pubsub subscription's messages: listening before the first byte goes, each
    message taken straight from its inbox (no task per event: a thousand streams of
    one channel are a thousand wake-ups, not three thousand), heartbeats put in the
    same inbox by a timer."""
    loop = asyncio.get_running_loop()
    await subscription.listen()
    inbox = subscription.inbox
    yield f"retry: {retry}\n\n".encode() if retry is not None else HEARTBEAT
    sent = loop.time()
    timer = None

    def beat() -> None:
        nonlocal timer
        quiet = loop.time() - sent
        if quiet >= heartbeat:
            inbox._put(_BEAT)  # noqa: SLF001 - the inbox's own loop: this one
            quiet = 0.0
        timer = loop.call_later(heartbeat - quiet, beat)

    if heartbeat is not None:
        timer = loop.call_later(heartbeat, beat)
    try:
        while True:
            item = await inbox.get()
            if item is _BEAT:
                if loop.time() - sent >= heartbeat:
                    yield HEARTBEAT
                    sent = loop.time()
                continue
            yield _message(item)
            sent = loop.time()
    finally:
        if timer is not None:
            timer.cancel()
        await subscription.aclose()


def _message(message: Any) -> bytes:
    """A pubsub message as an event: straight from the JSON text it travelled as, when
    that is one line (a compact JSON is), else through :class:`Event`."""
    text = message.text
    if text is not None and not isinstance(message.data, str) and "\n" not in text and (
            "\r" not in text):
        return f"event: {message.channel}\ndata: {text}\n\n".encode()
    return _event(message).encode()


#: A heartbeat due, in a subscription's inbox.
_BEAT: Any = object()


def _plain(events: Iterable[Any], retry: int | None) -> Iterable[bytes]:
    if retry is not None:
        yield f"retry: {retry}\n\n".encode()
    for item in events:
        yield _event(item).encode()


def _event(item: Any) -> Event:
    if isinstance(item, Event):
        return item
    from .services.pubsub import Message

    if isinstance(item, Message):
        if item.missed:
            return Event({"missed": True}, event="missed")
        # The JSON text it travelled as, when it has it: not encoded again per client.
        data = item.data
        if item.text is not None and not isinstance(data, str):  # text is sent as itself
            data = item.text
        return Event(data, event=item.channel)
    return Event(item)


def _json(data: Any) -> str:
    from . import wire

    return wire.encode(data).decode()
