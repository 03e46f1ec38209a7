"""``djng.clients.InProcess(app)``: another service that is an app in this process.

Apart from the clients service because it calls the app through the test
clients (``djng.testing``: the app's own WSGI or ASGI callable), which stand
above the services; ``import djng`` makes it ``djng.clients.InProcess``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from .propagation import DEADLINE_HEADER
from .services.clients import Call, Streamed, checked_timeout, header_names, timed_out
from .wsgi import headers_of

__all__ = ["InProcess"]


class InProcess:
    """A service that is an app in this process (tests, a monolith), called through
    real serialization from a fresh context: what the caller pushed never reaches it.

    ``timeout`` is the deadline of a call, as for ``HTTP``: an async call is
    cancelled at it; a sync one cannot be stopped midway, so its answer, if it
    comes later, is a ``RemoteTimeout`` all the same. Bodies are not streamed.
    ``propagate`` and ``msgpack`` are as for ``HTTP``.
    """

    def __init__(self, app: Any, *, timeout: float = 5.0, propagate: Iterable[str] = (),
                 msgpack: bool = False) -> None:
        if not callable(app):
            raise TypeError(f"djng.clients.InProcess needs an app, got {app!r}")
        self.app = app
        self.timeout = checked_timeout("djng.clients.InProcess", timeout)
        self.propagate = header_names(propagate)
        self.msgpack = bool(msgpack)
        self._client: Any = None
        self._async_client: Any = None

    def __repr__(self) -> str:
        return f"djng.clients.InProcess({self.app!r})"

    def _exchange(self, client: Any, call: Call, body: Any, headers: dict, params: Any) -> Any:
        headers[DEADLINE_HEADER] = f"{call.left():.3f}"
        return client.request(call.method, call.path, query=params, data=_bytes(body),
                              headers=headers, content_type=headers.get("Content-Type"))

    def send(self, name: str, method: str, path: str, body: Any, headers: dict,
             params: Any, timeout: float | None) -> tuple[int, list, bytes]:
        from .test_client import Client

        if self._client is None:
            self._client = _without_cookies(Client(self.app, raise_exceptions=False))
        call = Call(name, method, path, self.timeout if timeout is None else timeout, 0)
        reply = contextvars.Context().run(
            self._exchange, self._client, call, body, headers, params
        )
        if time.monotonic() > call.deadline:
            raise timed_out(name, method, path)
        return reply.status_code, headers_of(reply), reply.content

    async def asend(self, name: str, method: str, path: str, body: Any, headers: dict,
                    params: Any, timeout: float | None) -> tuple[int, list, bytes]:
        from .test_client import AsyncClient

        if self._async_client is None:
            self._async_client = _without_cookies(AsyncClient(self.app, raise_exceptions=False))
        call = Call(name, method, path, self.timeout if timeout is None else timeout, 0)
        exchange = self._exchange(self._async_client, call, body, headers, params)
        # A task of its own, in an empty context: the call starts clean.
        task = asyncio.get_running_loop().create_task(exchange, context=contextvars.Context())
        try:
            reply = await asyncio.wait_for(task, call.left())
        except TimeoutError:
            raise timed_out(name, method, path) from None
        return reply.status_code, headers_of(reply), reply.content

    def stream(self, name: str, method: str, path: str, body: Any, headers: dict,
               params: Any) -> Streamed:
        status, header_lines, content = self.send(name, method, path, body, headers, params, None)
        return Streamed(status, header_lines, iter([content]))

    async def astream(self, name: str, method: str, path: str, body: Any, headers: dict,
                      params: Any) -> Streamed:
        status, header_lines, content = await self.asend(
            name, method, path, await _abytes(body), headers, params, None
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield content

        return Streamed(status, header_lines, chunks())


def _bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    return b"".join(body)  # a request body djng.remote streams: read whole here


async def _abytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    return b"".join([chunk async for chunk in body])


def _without_cookies(client: Any) -> Any:
    """A test client that keeps no cookies: every call is on its own, as over HTTP, and
    calls made at once from several threads or tasks share nothing."""
    client._store_cookies = lambda response: None  # noqa: SLF001 - the client's one hook
    return client
