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
import contextlib
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
        text = self.data if isinstance(self.data, str) else _json(self.data)
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
    if hasattr(events, "__aiter__"):
        body: Any = _stream(aiter(events), heartbeat, retry)
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
    if retry is not None:
        yield f"retry: {retry}\n\n".encode()
    else:
        yield HEARTBEAT  # the headers and a first byte go now: the browser's onopen fires
    waiting: asyncio.Future | None = None
    try:
        while True:
            if waiting is None:
                waiting = asyncio.ensure_future(anext(events))
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
            with contextlib.suppress(BaseException):
                await waiting  # the iteration ends first: then it can be closed
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


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
        return Event(item.data, event=item.channel)
    return Event(item)


def _json(data: Any) -> str:
    from . import wire

    return wire.encode(data).decode()
