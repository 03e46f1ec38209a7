"""``djng.clients.InProcess(app)``: another service that is an app in this process.

Apart from the clients service because it calls the app through the test
clients (``djng.testing``: the app's own WSGI or ASGI callable), which stand
above the services; ``import djng`` makes it ``djng.clients.InProcess``.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from .services.clients import timed_out

__all__ = ["InProcess"]


class InProcess:
    """A service that is an app in this process (tests, a monolith), called through
    real serialization from a fresh context: what the caller pushed never reaches it."""

    def __init__(self, app: Any) -> None:
        if not callable(app):
            raise TypeError(f"djng.clients.InProcess needs an app, got {app!r}")
        self.app = app
        self._client: Any = None
        self._async_client: Any = None

    def __repr__(self) -> str:
        return f"djng.clients.InProcess({self.app!r})"

    def _exchange(self, client: Any, method: str, path: str, body: bytes | None,
                  headers: dict, params: Any) -> Any:
        client.cookies.clear()  # every call is on its own, as over HTTP
        return client.request(method, path, query=params, data=body, headers=headers,
                              content_type=headers.get("Content-Type"))

    def send(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
             params: Any, timeout: float | None) -> tuple[int, dict, bytes]:
        from .testing import Client

        if self._client is None:
            self._client = Client(self.app, raise_exceptions=False)
        reply = contextvars.Context().run(
            self._exchange, self._client, method, path, body, headers, params
        )
        return reply.status_code, dict(reply.headers), reply.content

    async def asend(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
                    params: Any, timeout: float | None) -> tuple[int, dict, bytes]:
        from .testing import AsyncClient

        if self._async_client is None:
            self._async_client = AsyncClient(self.app, raise_exceptions=False)
        call = self._exchange(self._async_client, method, path, body, headers, params)
        # A task of its own, in an empty context: the call starts clean.
        task = asyncio.get_running_loop().create_task(call, context=contextvars.Context())
        try:
            reply = await asyncio.wait_for(task, timeout)
        except TimeoutError:
            raise timed_out(name, method, path) from None
        return reply.status_code, dict(reply.headers), reply.content
