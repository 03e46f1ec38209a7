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
import functools
import importlib.util
import os
import random
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.utils.datastructures import CaseInsensitiveMapping

from .. import wire
from ..propagation import DEADLINE_HEADER, call_deadline, outgoing_headers
from .stack import Service

__all__ = [
    "HTTP", "Call", "Clients", "RemoteError", "RemoteTimeout", "Reply", "ServiceClient", "Streamed",
    "clients", "describe", "timed_out",
]

#: What a call accepts: JSON (or anything else); with ``type=``, MessagePack first
#: (smaller, faster: both decode into the type alike, where plain MessagePack data
#: would hold datetimes that JSON gives as strings).
ACCEPT = "application/json, */*;q=0.5"
ACCEPT_TYPED = "application/msgpack, application/json;q=0.9, */*;q=0.5"

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


class Streamed:
    """An answer whose body is still to come: ``status``, ``headers`` (name, value
    pairs, repeated names kept) and ``chunks``, an iterator (async for ``astream``)
    that closes the connection when it ends or is closed."""

    __slots__ = ("status", "headers", "chunks")

    def __init__(self, status: int, headers: list[tuple[str, str]], chunks: Any) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks


class Call:
    """One call's deadline and retry rule, the same for every transport, sync or async.

    The deadline is the call's timeout (the transport's when not given), and never
    later than the one the current request arrived with (``X-Request-Timeout``).
    """

    __slots__ = ("name", "method", "path", "deadline", "retries", "attempt")

    def __init__(self, name: str, method: str, path: str, timeout: float, retries: int) -> None:
        self.name = name
        self.method = method
        self.path = path
        self.deadline = call_deadline(timeout)
        self.retries = retries if method in IDEMPOTENT else 0
        self.attempt = 0

    def left(self) -> float:
        """Seconds left before the deadline; :class:`RemoteTimeout` when none are."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out(self.name, self.method, self.path)
        return remaining

    def failed(self, failure: Any) -> float:
        """After an attempt that failed (an exception, or a 502/503/504 status): the
        pause before the next attempt, or the exception the call raises."""
        import httpx

        if isinstance(failure, httpx_timeouts()):
            raise timed_out(self.name, self.method, self.path) from None
        if not isinstance(failure, (int, httpx.TransportError)):
            raise failure
        if self.attempt >= self.retries:
            _failed(self.name, self.method, self.path, failure)
        self.attempt += 1
        pause = _backoff(self.attempt)
        if time.monotonic() + pause >= self.deadline:
            _failed(self.name, self.method, self.path, failure)
        return pause

    def describe(self, happened: str) -> str:
        return describe(self.name, self.method, self.path, happened)


# -- transports -------------------------------------------------------------------------------

#: Async calls are spread over small pools of LANE connections each, up to LANES
#: pools: httpx's pool walks its queue on every change, which costs about 7 ms a
#: call at 50 calls at once in one pool here, and under 1 ms in pools of four.
LANE = 4
LANES = 25


class _Lane:
    """One of an HTTP transport's async pools, with its calls in flight."""

    __slots__ = ("client", "closer", "busy")

    def __init__(self, client: Any, closer: Any) -> None:
        self.client = client
        self.closer = closer  # keeps the generator that closes the client at loop shutdown
        self.busy = 0


def _busy(lane: _Lane) -> int:
    return lane.busy



class HTTP:
    """A service at ``url``, called over HTTP with httpx.

    ``timeout`` (seconds) is the deadline of a whole call, retries included;
    ``retries`` is how many times an idempotent call is sent again after a
    connection error or a 502/503/504; ``propagate`` names headers of the
    request being served to send on with every call (``'Authorization'``);
    ``msgpack=True`` sends bodies as MessagePack (for a service whose views are
    typed: they read either). Answers come as MessagePack when the service can.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 2,
                 propagate: Iterable[str] = (), msgpack: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"djng.clients.HTTP needs an http(s):// URL, got {_safe(url)!r}")
        if not (isinstance(retries, int) and retries >= 0):
            raise ValueError(f"djng.clients.HTTP(retries=...) must be 0 or more, got {retries!r}")
        if importlib.util.find_spec("httpx") is None:
            raise ImportError("djng.clients.HTTP calls services with httpx: "
                              "pip install 'djng[clients]'", name="httpx")
        self.url = url.rstrip("/")
        self.timeout = checked_timeout("djng.clients.HTTP", timeout)
        self.retries = retries
        self.propagate = header_names(propagate)
        self.msgpack = bool(msgpack)
        self._client: Any = None
        self._lanes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"djng.clients.HTTP({_safe(self.url)!r})"

    def _sync_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(base_url=self.url)
                # A transport dropped (a use() block ended) closes its pool with it.
                weakref.finalize(self, self._client.close)
            return self._client

    async def _lane(self) -> _Lane:
        """The least busy of this loop's pools (a new one while all are full), its
        count of calls in flight raised by one: the caller lowers it when done."""
        loop = asyncio.get_running_loop()
        lanes = self._lanes.get(loop)
        if lanes is None:
            lanes = self._lanes[loop] = []
        lane = min(lanes, key=_busy, default=None)
        if lane is None or lane.busy >= LANE and len(lanes) < LANES:
            import httpx

            limits = httpx.Limits(max_connections=LANE, max_keepalive_connections=LANE)
            client = httpx.AsyncClient(base_url=self.url, limits=limits)
            # Closed when the loop shuts its async generators down (asyncio.run does,
            # uvicorn does): a loop that lives for one request (an async view under
            # WSGI) leaves no connection open behind it.
            lane = _Lane(client, await close_with_loop(client))
            lanes.append(lane)
        lane.busy += 1
        return lane

    # -- whole answers (djng.clients) and streamed ones (djng.remote) ---------------------------

    def send(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
             params: Any, timeout: float | None) -> tuple[int, list, bytes]:
        call = Call(name, method, path, self.timeout if timeout is None else timeout, self.retries)
        answer = self._open(call, body, headers, params)
        try:
            chunks = []
            for chunk in answer.iter_bytes():
                call.left()  # httpx's timeout bounds each read: a trickle would outlast it
                chunks.append(chunk)
        except httpx_timeouts():
            raise timed_out(name, method, path) from None
        finally:
            answer.close()
        return answer.status_code, answer.headers.multi_items(), b"".join(chunks)

    async def asend(self, name: str, method: str, path: str, body: bytes | None, headers: dict,
                    params: Any, timeout: float | None) -> tuple[int, list, bytes]:
        call = Call(name, method, path, self.timeout if timeout is None else timeout, self.retries)
        lane = await self._lane()
        try:
            answer = await self._aopen(lane.client, call, body, headers, params)
            try:
                content = await asyncio.wait_for(answer.aread(), call.left())
            except httpx_timeouts():
                raise timed_out(name, method, path) from None
            finally:
                await answer.aclose()
        finally:
            lane.busy -= 1
        return answer.status_code, answer.headers.multi_items(), content

    def stream(self, name: str, method: str, path: str, body: Any, headers: dict,
               params: Any) -> Streamed:
        """The answer once its head is in (within the deadline), its body as it comes,
        raw (still encoded), with no limit on the wait between chunks (a quiet stream
        of server-sent events is not a failure)."""
        call = Call(name, method, path, self.timeout, _replayable(body, self.retries))
        answer = self._open(call, body, headers, params, statuses=False)
        return Streamed(answer.status_code, answer.headers.multi_items(),
                        _Body(call, _unbounded_reads(answer)))

    async def astream(self, name: str, method: str, path: str, body: Any, headers: dict,
                      params: Any) -> Streamed:
        call = Call(name, method, path, self.timeout, _replayable(body, self.retries))
        lane = await self._lane()
        try:
            answer = await self._aopen(lane.client, call, body, headers, params, statuses=False)
        except BaseException:
            lane.busy -= 1
            raise
        return Streamed(answer.status_code, answer.headers.multi_items(),
                        _AsyncBody(call, _unbounded_reads(answer), lane))

    def _open(self, call: Call, body: Any, headers: dict, params: Any,
              statuses: bool = True) -> Any:
        """The first answer worth keeping, its body not read: attempts inside the deadline,
        a 502/503/504 tried again when ``statuses`` (else it is the answer)."""
        client = self._sync_client()
        while True:
            request, seconds = _attempt(client, call, body, headers, params)
            try:
                answer = client.send(request, stream=True)
            except Exception as exc:
                pause = call.failed(exc)
            else:
                if not statuses or answer.status_code not in RETRY_STATUSES:
                    return answer
                answer.close()
                pause = call.failed(answer.status_code)
            time.sleep(pause)

    async def _aopen(self, client: Any, call: Call, body: Any, headers: dict, params: Any,
                     statuses: bool = True) -> Any:
        while True:
            request, seconds = _attempt(client, call, body, headers, params)
            try:
                # httpx's timeout bounds each step, not the wait for the whole head.
                answer = await asyncio.wait_for(client.send(request, stream=True), seconds)
            except Exception as exc:
                pause = call.failed(exc)
            else:
                if not statuses or answer.status_code not in RETRY_STATUSES:
                    return answer
                await answer.aclose()
                pause = call.failed(answer.status_code)
            await asyncio.sleep(pause)


def _attempt(client: Any, call: Call, body: Any, headers: dict, params: Any) -> tuple[Any, float]:
    """The next attempt's request, bounded by (and telling the service) the time left."""
    seconds = call.left()
    headers[DEADLINE_HEADER] = f"{seconds:.3f}"
    return client.build_request(call.method, call.path, content=body, headers=headers,
                                params=params, timeout=seconds), seconds


class _Body:
    """A streamed answer's body (``djng.remote``): a failure while it is read is a
    ``RemoteError``; ``close()`` (Django calls it with the response's, even for a body
    never read: a HEAD, a 304) gives the connection back to its pool."""

    def __init__(self, call: Call, answer: Any) -> None:
        self.call = call
        self.answer = answer
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.answer.iter_raw()
        except Exception as exc:
            raise self._failed(exc) from None
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.answer.close()

    def _failed(self, exc: Exception) -> RemoteError:
        call = self.call
        if isinstance(exc, httpx_timeouts()):
            return timed_out(call.name, call.method, call.path)
        return RemoteError(call.describe(f"broke off its answer ({type(exc).__name__})"))


class _AsyncBody(_Body):
    """The same, read in async code: its pool (lane) counts it until it is closed."""

    def __init__(self, call: Call, answer: Any, lane: _Lane) -> None:
        super().__init__(call, answer)
        self.lane = lane
        self.loop = asyncio.get_running_loop()

    __iter__ = None  # type: ignore[assignment] - async only: Django must see it as async

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.answer.aiter_raw():
                yield chunk
        except Exception as exc:
            raise self._failed(exc) from None
        finally:
            if not self.closed:
                self.closed = True
                self.lane.busy -= 1
                await self.answer.aclose()

    def close(self) -> None:
        if not self.closed:  # never read: closed on its loop
            self.closed = True
            self.lane.busy -= 1
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.answer.aclose()))


def _unbounded_reads(answer: Any) -> Any:
    """``answer`` with no read timeout from now on: its head came within the deadline."""
    timeouts = answer.request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        timeouts["read"] = None  # httpcore looks it up for each read of the body
    return answer


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
                headers: Mapping[str, str] | None = None, timeout: float | None = None,
                type: Any = None) -> Reply:
        """Call the service. ``json`` is the body (plain data, a Struct, a dataclass...),
        sent as JSON (MessagePack with ``msgpack=True`` on the transport); ``type``
        decodes and validates the answer into that type (a 502 when it does not fit)."""
        method, body, all_headers = _prepare(self.transport, method, json, headers, type)
        status, answer_headers, content = self.transport.send(
            self.name, method, path, body, all_headers, params, timeout
        )
        return _reply(self.name, method, path, status, answer_headers, content, type)

    async def arequest(self, method: str, path: str, *, json: Any = None, params: Any = None,
                       headers: Mapping[str, str] | None = None,
                       timeout: float | None = None, type: Any = None) -> Reply:
        method, body, all_headers = _prepare(self.transport, method, json, headers, type)
        status, answer_headers, content = await self.transport.asend(
            self.name, method, path, body, all_headers, params, timeout
        )
        return _reply(self.name, method, path, status, answer_headers, content, type)

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


def _prepare(transport: Any, method: str, data: Any, headers: Mapping[str, str] | None,
             kind: Any = None) -> tuple:
    method = method.upper()
    propagated = outgoing_headers(getattr(transport, "propagate", ()))
    accept = ACCEPT if kind is None else ACCEPT_TYPED
    all_headers = {"Accept": accept, **propagated, **(headers or {})}
    body = None
    if data is not None:
        media_type = wire.MSGPACK if getattr(transport, "msgpack", False) else wire.JSON
        body = wire.encode(data, media_type)
        all_headers.setdefault("Content-Type", media_type)
    return method, body, all_headers


def _reply(name: str, method: str, path: str, status: int, header_lines: list[tuple[str, str]],
           content: bytes, kind: Any = None) -> Reply:
    headers = joined(header_lines)
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip()
    form = None if content_type.startswith("text/") else wire.format_of(content_type)
    data: Any
    if not content:
        data = None
    elif form is not None and content_type:
        data = _decoded(name, method, path, content, form, kind if status < 400 else None)
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


def _decoded(name: str, method: str, path: str, content: bytes, form: str, kind: Any) -> Any:
    """The body of an answer in ``form`` (``json``/``msgpack``), into ``kind`` if given."""
    import msgspec

    decoders = _decoders(Any if kind is None else kind)
    try:
        return decoders[0 if form == "json" else 1].decode(content)
    except msgspec.ValidationError as exc:
        what = getattr(kind, "__qualname__", repr(kind))
        raise RemoteError(describe(name, method, path, f"answered a body that is not {what}: "
                                                       f"{exc}")) from None
    except msgspec.DecodeError:
        language = "JSON" if form == "json" else "MessagePack"
        raise RemoteError(describe(name, method, path, f"answered with invalid {language}")
                          ) from None


def _failed(name: str, method: str, path: str, failure: Any) -> Any:
    if isinstance(failure, int):
        raise RemoteError(describe(name, method, path, f"answered {failure}"))
    happened = f"could not be reached ({type(failure).__name__})"
    raise RemoteError(describe(name, method, path, happened))


def describe(name: str, method: str, path: str, happened: str) -> str:
    return f"The service {name!r} ({method} {path.split('?', 1)[0]}) {happened}."


async def close_with_loop(client: Any) -> Any:
    """Have the running loop close ``client`` (``aclose()``) when it shuts its async
    generators down (asyncio.run does, uvicorn does); keep what it returns."""
    closer = _closing(client)
    await closer.asend(None)
    return closer


async def _closing(client: Any) -> Any:
    try:
        yield
    finally:
        await client.aclose()


def timed_out(name: str, method: str, path: str) -> RemoteTimeout:
    return RemoteTimeout(describe(name, method, path, "did not answer in time"))


def joined(header_lines: Iterable[tuple[str, str]]) -> CaseInsensitiveMapping:
    """Header lines as a case-insensitive mapping, a repeated name's values joined
    with commas (as HTTP allows; each ``Set-Cookie`` stays in the lines)."""
    headers: dict[str, str] = {}
    for name, value in header_lines:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return CaseInsensitiveMapping(headers)


#: Answer decoders by the type asked for (``type=``, else Any), made on first use.
_decoders = functools.cache(wire.decoders)


def checked_timeout(who: str, timeout: Any) -> float:
    if isinstance(timeout, bool) or not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"{who}(timeout=...) must be > 0 seconds, got {timeout!r}")
    return float(timeout)


def header_names(names: Iterable[str]) -> tuple[str, ...]:
    """``propagate=``: names of the served request's headers each call sends on."""
    if isinstance(names, str):
        names = (names,)
    checked = tuple(names)
    for name in checked:
        if not (isinstance(name, str) and name and name.replace("-", "").isalnum()):
            raise ValueError(f"propagate= takes header names such as 'Authorization', got {name!r}")
    return checked


def httpx_timeouts() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.TimeoutException, TimeoutError)


def _replayable(body: Any, retries: int) -> int:
    """The retries a call may make: none when its body is a stream (it cannot be sent twice)."""
    return retries if body is None or isinstance(body, bytes) else 0


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
