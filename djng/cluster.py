"""``djng.testing.Cluster``: several services tested together, in one process or over HTTP.

``Cluster({'users': users_app, 'orders': orders_app})`` wires ``djng.clients``
of each app (``djng.reconfigure(app, clients=...)``) to the others: in-process
(``mode='in-process'``: every call through the app's own WSGI or ASGI callable
from a fresh context, its body serialized as over HTTP) or over loopback
(``mode='servers'``: each app under a real server on a free port, werkzeug with
``djng.wsgi`` or uvicorn with ``djng.asgi``). The same test runs both ways.
``cluster['orders']`` is a test client for a service; ``cluster.calls`` lists
the calls between services, for assertions.
"""

from __future__ import annotations

import dataclasses
import functools
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .reconfigure import reconfigure
from .remote import remote
from .services.clients import HTTP, RemoteError, Streamed, clients

__all__ = ["Cluster", "Recorded"]

MODES = ("in-process", "servers")
SERVERS = ("werkzeug", "uvicorn")
#: Seconds the test's own requests (``cluster['name']``) may take beyond a call's deadline.
EDGE_MARGIN = 5.0


@dataclasses.dataclass(frozen=True)
class Recorded:
    """One call between services: who called (None: the test itself), whom, and the
    status the caller got (502/504 when the service could not answer in time). The
    bodies sent and answered (and their types) are kept for ``check_calls`` and
    are not compared: ``Recorded('orders', 'users', 'GET', '/7', 200)`` equals the
    call whatever its bodies."""

    caller: str | None
    callee: str
    method: str
    path: str
    status: int
    sent: bytes | None = dataclasses.field(default=None, compare=False, repr=False)
    sent_type: str | None = dataclasses.field(default=None, compare=False, repr=False)
    answered: bytes | None = dataclasses.field(default=None, compare=False, repr=False)
    answered_type: str | None = dataclasses.field(default=None, compare=False, repr=False)


class Cluster:
    """Services that call each other, wired for a test; a context manager.

    ``mode`` is ``'in-process'`` or ``'servers'``; ``server`` (servers mode) is
    ``'werkzeug'`` (``djng.wsgi``) or ``'uvicorn'`` (``djng.asgi``); ``timeout``
    is each call's deadline. Each app keeps the backends it was given
    (``djng.reconfigure(app, db=..., cache=...)``): give each its own database.
    """

    modes = MODES

    def __init__(self, services: Mapping[str, Callable], *, mode: str = "in-process",
                 server: str = "werkzeug", timeout: float = 5.0) -> None:
        if mode not in MODES:
            raise ValueError(f"Cluster(mode=...) is one of {MODES}, got {mode!r}")
        if server not in SERVERS:
            raise ValueError(f"Cluster(server=...) is one of {SERVERS}, got {server!r}")
        if not services:
            raise ValueError("Cluster() needs the services to wire: {'name': app, ...}")
        for name, app in services.items():
            if not callable(app):
                raise TypeError(f"Cluster: the service {name!r} needs an app, got {app!r}")
        self.mode = mode
        self.server = server
        self.timeout = timeout
        #: Every call between services (and from the test through ``djng.clients``).
        self.calls: list[Recorded] = []
        self._services = dict(services)
        self._apps: dict[str, Callable] = {}
        #: The transport that reaches each service: InProcess, or HTTP to its server.
        self.targets: dict[str, Any] = {}
        self._servers: list[_Server] = []
        self._sockets: dict[str, socket.socket] = {}
        self._clients: dict[tuple[str, bool], Any] = {}
        self._pushed: Any = None

    # -- wiring ---------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            if self.mode == "servers":
                sockets = self._sockets = {name: _listening() for name in self._services}
                self.targets = {
                    # No retries: a call is made once, as in-process (and recorded once).
                    name: HTTP(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=self.timeout,
                               retries=0)
                    for name, sock in sockets.items()
                }
            for name, app in self._services.items():
                self._apps[name] = reconfigure(app, clients=self._transports(name))
            if self.mode == "servers":
                for name, sock in sockets.items():
                    self._servers.append(_Server(self.server, self._apps[name], sock))
            else:
                self.targets = {
                    name: clients.InProcess(app, timeout=self.timeout)
                    for name, app in self._apps.items()
                }
            # The test's own calls (djng.clients.users.get(...)) reach the services too.
            self._pushed = clients.use(self._transports(None))
            self._pushed.__enter__()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pushed is not None:
            self._pushed.__exit__(None, None, None)
            self._pushed = None
        servers, self._servers = self._servers, []
        # Stopped together: each takes a tick of its loop (uvicorn's is 0.1 s).
        stopping = [threading.Thread(target=server.stop) for server in servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for sock in self._sockets.values():  # also those no server took (one failed to start)
            sock.close()
        self._sockets = {}
        self._clients.clear()

    def _transports(self, caller: str | None) -> dict[str, _Recorder]:
        """What ``caller``'s ``djng.clients`` reach: every service, each call recorded.
        (Looked up when called, as in-process targets are made after the apps.)"""
        return {name: _Recorder(self, caller, name) for name in self._services}

    # -- for tests --------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        """A ``djng.testing.Client`` for the service ``name`` (over HTTP in servers mode)."""
        return self._client(name, asynchronous=False)

    def async_client(self, name: str) -> Any:
        """A ``djng.testing.AsyncClient`` for the service ``name``."""
        return self._client(name, asynchronous=True)

    def app(self, name: str) -> Callable:
        """The service ``name`` as the cluster wired it (its clients reach the others)."""
        if not self._apps:
            raise RuntimeError("Use the cluster inside `with Cluster({...}) as cluster:`")
        return self._apps[self._known(name)]

    def url(self, name: str) -> str:
        """Where the service ``name`` listens (servers mode)."""
        if self.mode != "servers":
            raise LookupError("Cluster.url() is for mode='servers': in-process there is none")
        return self.targets[self._known(name)].url

    def _client(self, name: str, *, asynchronous: bool) -> Any:
        from .test_client import AsyncClient, Client

        if not self._apps:
            raise RuntimeError("Use the cluster inside `with Cluster({...}) as cluster:`")
        key = (self._known(name), asynchronous)
        client = self._clients.get(key)
        if client is None:
            # The test's requests go the way of a call (unrecorded): over HTTP, or
            # in-process from a fresh context, serialized, so that the same test
            # sees the same in both modes (what the test pushed does not reach the
            # service; its failures are answered 500/502, not raised here).
            app = reconfigure(remote(name), clients={name: self._edge(name)})
            client = self._clients[key] = (AsyncClient if asynchronous else Client)(app)
        return client

    def _edge(self, name: str) -> Any:
        """The transport of the test's own requests to ``name``: as a call's, with a
        deadline later than the calls' (what the service answers when its own calls
        time out is what the test sees, never its own request timing out first)."""
        timeout = self.timeout + EDGE_MARGIN
        if self.mode == "servers":
            return HTTP(self.targets[name].url, timeout=timeout, retries=0)
        return clients.InProcess(self._apps[name], timeout=timeout)

    def _known(self, name: str) -> str:
        if name not in self._services:
            raise KeyError(f"The cluster has no service {name!r}; it has {sorted(self._services)}")
        return name

    def __repr__(self) -> str:
        return f"<Cluster {sorted(self._services)} mode={self.mode!r}>"


class _Recorder:
    """A transport that records each call of ``caller`` to ``callee`` on the cluster."""

    def __init__(self, cluster: Cluster, caller: str | None, callee: str) -> None:
        self.cluster = cluster
        self.caller = caller
        self.callee = callee

    @property
    def target(self) -> Any:
        """The transport that reaches the service (made once the cluster is wired)."""
        return self.cluster.targets[self.callee]

    @property
    def propagate(self) -> tuple[str, ...]:
        return self.target.propagate

    @property
    def msgpack(self) -> bool:
        return self.target.msgpack

    def __repr__(self) -> str:
        return f"<Cluster {self.caller!r} -> {self.callee!r}>"

    def send(self, name: str, method: str, path: str, body: Any, headers: dict,
             *rest: Any) -> tuple[int, list, bytes]:
        with self._recording(method, path, body, headers) as answered:
            answer = self.target.send(name, method, path, body, headers, *rest)
            answered(*answer)
        return answer

    async def asend(self, name: str, method: str, path: str, body: Any, headers: dict,
                    *rest: Any) -> tuple[int, list, bytes]:
        with self._recording(method, path, body, headers) as answered:
            answer = await self.target.asend(name, method, path, body, headers, *rest)
            answered(*answer)
        return answer

    def stream(self, name: str, method: str, path: str, body: Any, headers: dict,
               *rest: Any) -> Streamed:
        with self._recording(method, path, body, headers) as answered:
            answer = self.target.stream(name, method, path, body, headers, *rest)
            answered(answer.status, answer.headers, None)  # its body is still to come
        return answer

    async def astream(self, name: str, method: str, path: str, body: Any, headers: dict,
                      *rest: Any) -> Streamed:
        with self._recording(method, path, body, headers) as answered:
            answer = await self.target.astream(name, method, path, body, headers, *rest)
            answered(answer.status, answer.headers, None)
        return answer

    @contextmanager
    def _recording(self, method: str, path: str, body: Any,
                   headers: dict) -> Iterator[Callable[..., None]]:
        """Records the answer the block reports, or the status of the RemoteError it raises."""
        sent = body if isinstance(body, bytes) else None
        sent_type = headers.get("Content-Type") if sent else None

        def record(status: int, header_lines: Any = (), content: bytes | None = None) -> None:
            answered_type = next(
                (value for name, value in header_lines if name.lower() == "content-type"), None)
            self.cluster.calls.append(Recorded(
                self.caller, self.callee, method, path, status, sent, sent_type, content,
                answered_type,
            ))

        try:
            yield record
        except RemoteError as exc:
            record(exc.status)
            raise


# -- servers on loopback ----------------------------------------------------------------------


def _listening() -> socket.socket:
    """A socket bound to a free loopback port: the port is known before the server starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class _Server:
    """An app served on ``sock`` from a thread of this process, until :meth:`stop`."""

    def __init__(self, kind: str, app: Callable, sock: socket.socket) -> None:
        if kind == "uvicorn":
            import uvicorn

            from .asgi import asgi

            config = uvicorn.Config(asgi(app), log_level="warning", lifespan="on",
                                    timeout_graceful_shutdown=1)
            self.server: Any = uvicorn.Server(config)
            run: Callable = lambda: self.server.run(sockets=[sock])  # noqa: E731
        else:
            from werkzeug.serving import WSGIRequestHandler, make_server

            from .wsgi import wsgi

            class Quiet(WSGIRequestHandler):
                def log_request(self, *args: Any) -> None:
                    pass  # a test's output is not an access log

            self.server = make_server("127.0.0.1", sock.getsockname()[1], wsgi(app),
                                      threaded=True, request_handler=Quiet, fd=sock.fileno())
            # shutdown() waits for the loop to look again: every 0.5 s by default.
            run = functools.partial(self.server.serve_forever, poll_interval=0.05)
        self.kind = kind
        self.thread = threading.Thread(target=run, name=f"djng-cluster-{kind}", daemon=True)
        self.thread.start()
        if kind == "uvicorn":
            self._wait_started()

    def _wait_started(self) -> None:
        for _ in range(500):
            if self.server.started or not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self.server.started:
            raise RuntimeError("Cluster: uvicorn did not start (see its log above)")

    def stop(self) -> None:
        if self.kind == "uvicorn":
            self.server.should_exit = True
        else:
            self.server.shutdown()
            self.server.server_close()
        self.thread.join(10)
