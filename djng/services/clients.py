"""``djng.clients``: the other services an app calls, as one more swappable service.

The backend is a mapping from service names to transports: ``HTTP(url)`` (httpx,
one pooled keep-alive client per process, and per event loop for async calls)
or ``InProcess(app)`` (the app called in this process, through its WSGI or ASGI
callable, from a fresh context: the caller's pushed services never reach it).
A service that is not configured is found in ``DJNG_SERVICE_<NAME>_URL``.

``djng.clients['users'].get('/users/1')`` returns the decoded body; a remote
404, 401/403 and 400/422 become Django's ``Http404``, ``PermissionDenied`` and
``BadRequest``; anything else that fails becomes :class:`RemoteError` (a 502
for the caller's client) or, past the deadline, :class:`RemoteTimeout` (504).
Messages name the service, the method and the path, never credentials.
Idempotent methods are retried on connection errors and 502/503/504, with
jittered backoff, inside one deadline for the whole call.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404

from ..propagation import outgoing_headers
from .stack import Service

__all__ = [
    "HTTP", "Clients", "RemoteError", "RemoteTimeout", "Reply", "ServiceClient", "clients",
    "describe", "timed_out",
]

#: Methods that may be sent again: the second time changes nothing more.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})


class RemoteError(Exception):
    """A call to another service failed (down, a 5xx, an unreadable answer): 502."""

    status = 502


class RemoteTimeout(RemoteError):
    """A call to another service did not answer before its deadline: 504."""

    status = 504


class Reply:
    """What a service answered: ``status``, ``headers`` and ``data`` (the decoded body)."""

    __slots__ = ("status", "headers", "data")

    def __init__(self, status: int, headers: Mapping[str, str], data: Any) -> None:
        self.status = status
        self.headers = headers
        self.data = data

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.data!r:.60}>"


class Answer:
    """An attempt's answer, read whole: what the retry rule looks at."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


# -- transports -------------------------------------------------------------------------------


class HTTP:
    """A service at ``url``, called over HTTP with httpx.

    ``timeout`` (seconds) is the deadline of a whole call, retries included;
    ``retries`` is how many times an idempotent call is sent again after a
    connection error or a 502/503/504.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 2) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"djng.clients.HTTP needs an http(s):// URL, got {_safe(url)!r}")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"djng.clients.HTTP(timeout=...) must be > 0 seconds, got {timeout!r}")
        if not (isinstance(retries, int) and retries >= 0):
            raise ValueError(f"djng.clients.HTTP(retries=...) must be 0 or more, got {retries!r}")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = retries
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"djng.clients.HTTP({_safe(self.url)!r})"

    def _sync_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(base_url=self.url)
            return self._client

    async def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        pooled = self._async_clients.get(loop)
        if pooled is None:
            import httpx

            client = httpx.AsyncClient(base_url=self.url)
            # Closed when the loop shuts its async generators down (asyncio.run does,
            # uvicorn does): a loop that lives for one request (an async view under
            # WSGI) leaves no connection open behind it.
            closer = _close_at_shutdown(client)
            await closer.asend(None)
            pooled = self._async_clients[loop] = (client, closer)
        return pooled[0]

    def send(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
             params: Any, timeout: float | None) -> tuple[int, dict, bytes]:
        steps = self._attempts(name, method, path, timeout)
        wait = next(steps)
        while True:
            if isinstance(wait, float):  # a pause before the next attempt
                time.sleep(wait)
                wait = steps.send(None)
                continue
            try:
                answer = self._sync_request(method, path, body, headers, params, wait[0])
            except Exception as exc:
                wait = steps.throw(exc)
            else:
                wait = steps.send(answer)
            if isinstance(wait, tuple) and len(wait) == 3:
                return wait

    async def asend(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
                    params: Any, timeout: float | None) -> tuple[int, dict, bytes]:
        steps = self._attempts(name, method, path, timeout)
        wait = next(steps)
        while True:
            if isinstance(wait, float):
                await asyncio.sleep(wait)
                wait = steps.send(None)
                continue
            try:
                client = await self._async_client()
                answer = await asyncio.wait_for(
                    client.request(
                        method, path, content=body, headers=headers, params=params,
                        timeout=wait[0],
                    ),
                    wait[0],  # httpx's timeout bounds each read, not the whole answer
                )
            except Exception as exc:
                wait = steps.throw(exc)
            else:
                wait = steps.send(answer)
            if isinstance(wait, tuple) and len(wait) == 3:
                return wait

    def _sync_request(self, method: str, path: str, body: bytes | None, headers: dict,
                      params: Any, seconds: float) -> Answer:
        """One attempt, its whole answer read within ``seconds`` (httpx's timeout bounds
        each read: a body that trickles in would outlast it)."""
        deadline = time.monotonic() + seconds
        client = self._sync_client()
        with client.stream(
            method, path, content=body, headers=headers, params=params, timeout=seconds
        ) as answer:
            chunks = []
            for chunk in answer.iter_bytes():
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
            return Answer(answer.status_code, dict(answer.headers), b"".join(chunks))

    def _attempts(self, name: str, method: str, path: str, timeout: float | None) -> Any:
        """The retry rule, for :meth:`send` and :meth:`asend`: yields ``(seconds left,)``
        for an attempt (and is sent its answer, or thrown its exception), a float for a
        pause, and at last ``(status, headers, content)``; raises what the call raises."""
        import httpx

        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out(name, method, path)
            try:
                answer = yield (remaining,)
            except (httpx.TimeoutException, TimeoutError):
                raise timed_out(name, method, path) from None
            except httpx.TransportError as exc:
                failure: Any = exc
            else:
                if answer.status_code not in RETRY_STATUSES:
                    yield answer.status_code, dict(answer.headers), answer.content
                    return
                failure = answer
            if method not in IDEMPOTENT or attempt >= self.retries:
                _failed(name, method, path, failure)
            attempt += 1
            pause = _backoff(attempt)
            if time.monotonic() + pause >= deadline:
                _failed(name, method, path, failure)
            yield pause


# -- the client of one service ------------------------------------------------------------------


class ServiceClient:
    """Calls to one service: ``get``/``post``/``put``/``patch``/``delete`` return the
    decoded body; ``aget``... do the same in async code; ``request``/``arequest``
    return the whole :class:`Reply`."""

    def __init__(self, name: str, transport: Any) -> None:
        self.name = name
        self.transport = transport

    def __repr__(self) -> str:
        return f"<djng.clients[{self.name!r}] {self.transport!r}>"

    def request(self, method: str, path: str, *, json: Any = None, params: Any = None,
                headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Reply:
        method, body, all_headers = _prepare(method, json, headers)
        status, answer_headers, content = self.transport.send(
            self.name, method, path, body, all_headers, params, timeout
        )
        return _reply(self.name, method, path, status, answer_headers, content)

    async def arequest(self, method: str, path: str, *, json: Any = None, params: Any = None,
                       headers: Mapping[str, str] | None = None,
                       timeout: float | None = None) -> Reply:
        method, body, all_headers = _prepare(method, json, headers)
        status, answer_headers, content = await self.transport.asend(
            self.name, method, path, body, all_headers, params, timeout
        )
        return _reply(self.name, method, path, status, answer_headers, content)

    def get(self, path: str, **options: Any) -> Any:
        return self.request("GET", path, **options).data

    def post(self, path: str, **options: Any) -> Any:
        return self.request("POST", path, **options).data

    def put(self, path: str, **options: Any) -> Any:
        return self.request("PUT", path, **options).data

    def patch(self, path: str, **options: Any) -> Any:
        return self.request("PATCH", path, **options).data

    def delete(self, path: str, **options: Any) -> Any:
        return self.request("DELETE", path, **options).data

    async def aget(self, path: str, **options: Any) -> Any:
        return (await self.arequest("GET", path, **options)).data

    async def apost(self, path: str, **options: Any) -> Any:
        return (await self.arequest("POST", path, **options)).data

    async def aput(self, path: str, **options: Any) -> Any:
        return (await self.arequest("PUT", path, **options)).data

    async def apatch(self, path: str, **options: Any) -> Any:
        return (await self.arequest("PATCH", path, **options)).data

    async def adelete(self, path: str, **options: Any) -> Any:
        return (await self.arequest("DELETE", path, **options)).data


class Clients:
    """The backend of ``djng.clients``: service names to transports."""

    def __init__(self, services: Mapping[str, Any] | None = None) -> None:
        self._services = {name: _transport(name, value) for name, value in (services or {}).items()}
        self._from_environment: dict[str, Any] = {}

    def __getitem__(self, name: str) -> ServiceClient:
        transport = self._services.get(name)
        if transport is None:
            transport = self._from_environment.get(name)
        if transport is None:
            variable = f"DJNG_SERVICE_{name.upper().replace('-', '_')}_URL"
            url = os.environ.get(variable)
            if not url:
                raise LookupError(
                    f"djng.clients has no service {name!r}: configure it, e.g. "
                    f"djng.clients.configure({{{name!r}: 'http://host:port'}}), or set {variable}"
                )
            transport = self._from_environment[name] = _transport(name, url)
        return ServiceClient(name, transport)

    def __getattr__(self, name: str) -> ServiceClient:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __repr__(self) -> str:
        return f"<djng.clients {self._services!r}>"


def _transport(name: str, value: Any) -> Any:
    if isinstance(value, str):
        return HTTP(value)
    if callable(getattr(value, "send", None)) and callable(getattr(value, "asend", None)):
        return value
    raise TypeError(
        f"djng.clients: the service {name!r} needs a URL, djng.clients.HTTP(url) or "
        f"djng.clients.InProcess(app), got {value!r}"
    )


def _coerce(backend: Any) -> Clients:
    if isinstance(backend, Clients):
        return backend
    if isinstance(backend, Mapping):
        return Clients(backend)
    raise TypeError("Pass a dict of service names to URLs or transports")


class ClientsService(Service[Clients]):
    HTTP = HTTP
    #: ``djng.clients.InProcess(app)`` (``djng.in_process``; set by ``import djng``,
    #: as it calls the app through the test clients, which stand above the services).
    InProcess: Any = None
    RemoteError = RemoteError
    RemoteTimeout = RemoteTimeout

    def __getitem__(self, name: str) -> ServiceClient:
        return self.current()[name]


clients = ClientsService(
    "clients",
    expects="a dict of service names to URLs, djng.clients.HTTP(url) or InProcess(app)",
    coerce=_coerce,
    default=Clients,
)


# -- helpers ------------------------------------------------------------------------------------


def _prepare(method: str, data: Any, headers: Mapping[str, str] | None) -> tuple:
    method = method.upper()
    all_headers = {"Accept": "application/json", **outgoing_headers(), **(headers or {})}
    body = None
    if data is not None:
        body = json.dumps(data, default=str).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return method, body, all_headers


def _reply(name: str, method: str, path: str, status: int, headers: Mapping[str, str],
           content: bytes) -> Reply:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    data: Any
    if not content:
        data = None
    elif "json" in content_type:
        try:
            data = json.loads(content)
        except ValueError:
            raise RemoteError(describe(name, method, path, "answered with invalid JSON")) from None
    else:
        data = content.decode("utf-8", "replace")
    if status < 400:
        return Reply(status, headers, data)
    detail = data.get("detail") if isinstance(data, dict) else None
    message = describe(name, method, path, f"answered {status}" + (f": {detail}" if detail else ""))
    if status == 404:
        raise Http404(message)
    if status in (401, 403):
        raise PermissionDenied(message)
    if status in (400, 422):
        raise BadRequest(message)
    raise RemoteError(message)


def _failed(name: str, method: str, path: str, failure: Any) -> Any:
    status = getattr(failure, "status_code", None)
    if status is not None:
        raise RemoteError(describe(name, method, path, f"answered {status}"))
    happened = f"could not be reached ({type(failure).__name__})"
    raise RemoteError(describe(name, method, path, happened))


def describe(name: str, method: str, path: str, happened: str) -> str:
    return f"The service {name!r} ({method} {path.split('?', 1)[0]}) {happened}."


async def _close_at_shutdown(client: Any) -> Any:
    try:
        yield
    finally:
        await client.aclose()


def timed_out(name: str, method: str, path: str) -> RemoteTimeout:
    return RemoteTimeout(describe(name, method, path, "did not answer in time"))


def _backoff(attempt: int) -> float:
    return random.uniform(0, 0.05 * 2 ** (attempt - 1))  # full jitter


def _safe(url: str) -> str:
    """``url`` without its credentials."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
