"""Start-up and shutdown hooks: ``djng.lifespan(app, ...)``.

Pools and clients an app opens once and closes at the end are declared on the
app: a context manager (sync or async; the code before its ``yield`` is the
start-up, after it the shutdown), or ``startup=``/``shutdown=`` functions. The
declaration is the app's ``djng_lifespan``; layers keep it and a Router gathers
those of the apps it mounts, so a monolith made of services starts them all.

Under ``djng.asgi`` they run in the ASGI lifespan protocol (uvicorn's start-up
and shutdown), or before the first request when the server sends no lifespan
events. Under WSGI (``djng.wsgi``, ``djng.serve()``, the test client) they run
before the first request, once per process, and shut down when the process
exits (or when a ``with djng.testing.Client(app):`` block ends). Async hooks
under WSGI run on an event loop of their own, so what they open must not be
tied to the loop that serves requests (an ``httpx.AsyncClient`` is): open such
things under ``djng.asgi``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async

__all__ = ["Lifespan", "lifespan", "lifespans_of"]


def lifespan(
    app: Any,
    context: Callable[[], Any] | None = None,
    *,
    startup: Callable[[], Any] | None = None,
    shutdown: Callable[[], Any] | None = None,
) -> Any:
    """Declare start-up and shutdown hooks on ``app`` and return it.

    ``context`` is a function returning a context manager (sync or async), such
    as one made with ``contextlib.asynccontextmanager``; ``startup`` and
    ``shutdown`` are plain functions (sync or async). Hooks run in the order
    they were declared and shut down in reverse.
    """
    if not callable(app):
        raise TypeError(f"djng.lifespan() needs an app (a view or a Router), got {app!r}")
    hooks = []
    if context is not None:
        if not callable(context):
            raise TypeError(
                "djng.lifespan(app, context): context must be a function returning a context "
                f"manager (e.g. made with contextlib.asynccontextmanager), got {context!r}"
            )
        hooks.append(context)
    if startup is not None or shutdown is not None:
        for name, hook in (("startup", startup), ("shutdown", shutdown)):
            if hook is not None and not callable(hook):
                raise TypeError(f"djng.lifespan({name}=...) must be a function, got {hook!r}")
        hooks.append(_hooks(startup, shutdown))
    if not hooks:
        raise TypeError("djng.lifespan(app, ...) needs a context manager, startup= or shutdown=")
    app.djng_lifespan = (*lifespans_of(app), *hooks)
    return app


def lifespans_of(app: Any) -> tuple[Callable[[], Any], ...]:
    """The lifespan hooks ``app`` declares (with those of the apps inside it)."""
    return getattr(app, "djng_lifespan", ())


def _hooks(startup: Callable | None, shutdown: Callable | None) -> Callable[[], Any]:
    @contextlib.asynccontextmanager
    async def hooks() -> Any:
        if startup is not None:
            await _call(startup)
        yield
        if shutdown is not None:
            await _call(shutdown)

    return hooks


async def _call(func: Callable[[], Any]) -> Any:
    if iscoroutinefunction(func):
        return await func()
    return await sync_to_async(func)()  # off the loop: it may touch the database


class Lifespan:
    """Runs the hooks of one app: entered once, exited once."""

    def __init__(self, app: Any) -> None:
        self.hooks = lifespans_of(app)
        self.started = not self.hooks  # nothing to start
        self._stack: contextlib.AsyncExitStack | None = None
        self._runner: asyncio.Runner | None = None
        self._lock = threading.Lock()

    async def astart(self) -> None:
        """Enter every hook (ASGI ``lifespan.startup``); a failure exits those entered,
        and the next request tries again. ``started`` is set once all are entered."""
        stack = contextlib.AsyncExitStack()
        async with contextlib.AsyncExitStack() as guard:
            guard.push_async_exit(stack)
            for hook in self.hooks:
                manager = hook()
                if hasattr(manager, "__aenter__"):
                    await stack.enter_async_context(manager)
                elif hasattr(manager, "__enter__"):
                    await sync_to_async(stack.enter_context)(manager)
                else:
                    raise TypeError(
                        f"the lifespan hook {hook!r} returned {manager!r}, not a context manager"
                    )
            guard.pop_all()
        self._stack = stack
        self.started = True

    async def astop(self) -> None:
        """Exit the hooks, in reverse (ASGI ``lifespan.shutdown``)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def start_once(self) -> None:
        """Start the hooks under WSGI: the first call does, on a loop of its own; the
        process's exit (or :meth:`stop`) shuts them down."""
        with self._lock:  # a request that comes meanwhile waits here for the start-up
            if self.started:
                return
            runner = asyncio.Runner()
            try:
                runner.run(self.astart())
            except BaseException:
                runner.close()
                raise
            self._runner = runner
            atexit.register(self.stop)

    def stop(self) -> None:
        """Shut down what :meth:`start_once` started (idempotent)."""
        with self._lock:
            runner, self._runner = self._runner, None
            if runner is None:
                return
            try:
                runner.run(self.astop())
            finally:
                runner.close()
                atexit.unregister(self.stop)
                self.started = False
