"""Worker threads for the sync work of requests served by ``djng.asgi``.

Django's ASGI handler gives every request a new thread, so database
connections, which are per thread, are opened again for every request. djng
keeps a bounded pool of long-lived threads instead (:class:`WorkerPool`). A
request takes one thread at its first sync call (a sync view, an ORM query, a
report) and keeps it to its end: the view, the ORM, ``close()`` and
``request_finished`` all run on that one thread, so connections are reused
across requests (``conn_max_age``). The size of the pool bounds concurrent sync
work and database connections; a request that needs a thread when all are
taken waits for one, on the loop, without blocking it.

Each request's executor (:class:`RequestWorker`) is handed to asgiref's
``ThreadSensitiveContext``, so Django's own ``sync_to_async`` calls (the async
ORM methods ``aget``, ``acount``... and the cache's ``aget``, ``aset``) go to
the request's thread too.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextvars import Context
from typing import Any, TypeVar

from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async

__all__ = ["RequestWorker", "WorkerPool", "bind", "in_worker", "run_in", "unbind"]

T = TypeVar("T")


def in_worker(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``func`` as a coroutine function that runs it on the request's worker thread,
    in a copy of the request's context whose changes come back (asgiref's
    ``sync_to_async``, thread-sensitive). Under WSGI that thread is the request's own."""
    return sync_to_async(func, thread_sensitive=True)


def bind(worker: RequestWorker) -> ThreadSensitiveContext:
    """Send the current context's thread-sensitive calls to ``worker``; call in the
    request's own context. Returns what :func:`unbind` takes when the request ends.

    What ``async with ThreadSensitiveContext(executor=worker)`` does for a request
    served on the loop, without saving and restoring asgiref's ``Local`` of an
    enclosing ``async_to_sync`` (which a request served on the loop has none of)
    that costs about a fifth of a hello request. The request's context dies with
    it, so the variable needs no reset.
    """
    context = ThreadSensitiveContext(executor=worker)
    SyncToAsync.thread_sensitive_context.set(context)
    SyncToAsync.context_to_thread_executor[context] = worker
    return context


def unbind(context: ThreadSensitiveContext) -> None:
    """The request has ended: a task it started that calls sync code later fails, as
    asgiref's own context makes it, instead of running on another thread."""
    SyncToAsync.context_to_thread_executor.pop(context, None)
    context._exited = True  # noqa: SLF001 - what ThreadSensitiveContext.__aexit__ sets


async def run_in(
    worker: RequestWorker, context: Context, func: Callable[..., T], *args: Any,
    finish: bool = False,
) -> T:
    """``func(*args)`` on ``worker``'s thread, in ``context`` itself (not a copy).

    The request's own hop for a sync app: what the thread sets in the context is
    the request's at once, with none of asgiref's copying of the context there and
    back (about a sixth of a sync hello request). The call is handed to the thread
    once the request's current step has left the context, and the request waits
    meanwhile, so the context is never entered by two threads at once. Cancelled
    (the client left), a call not yet started never runs, and one running ends
    first: the cancellation lands once the thread has left the context (see
    :class:`_Handoff`). ``finish=True``: the call runs to its end whenever the
    cancellation comes (closing a response). ``async_to_sync`` in ``func`` runs its
    coroutine on this loop, as under ``sync_to_async``.
    """
    loop = asyncio.get_running_loop()
    done = _Handoff(loop=loop)
    done.finish = finish

    def hand_over() -> None:
        if done.cancelled():
            return
        try:
            call = worker.submit(_enter, loop, context, func, args)
        except Exception as exc:  # the request has ended; the pool is closed
            done.set_exception(exc)
            return
        done.call = call
        call.add_done_callback(lambda _: loop.call_soon_threadsafe(done.settle, call))

    # Handed over once this step has ended (its context left) and the request waits.
    scheduled = loop.call_soon(hand_over)
    try:
        return await done
    finally:
        scheduled.cancel()


class _Handoff(asyncio.Future):
    """What :func:`run_in` waits for. Once its call runs on the thread, it cannot be
    cancelled: the task keeps the cancellation for its next step, when the thread
    is done, because delivering it means entering the request's context (djng.asgi
    runs each of the request's steps in it), which the thread is in until then. The
    call's outcome is then dropped: the request is cancelled. A call still waiting
    for its thread is cancelled with it, unless it is to ``finish``."""

    call: Future | None = None
    finish = False

    def cancel(self, msg: Any = None) -> bool:
        if self.finish or (self.call is not None and not self.call.cancel()):
            return False  # running (or just done), or to finish: the cancellation waits
        return super().cancel(msg)

    def settle(self, call: Future) -> None:
        if self.done():
            return
        if call.cancelled():
            super().cancel()
        elif (exc := call.exception()) is not None:
            self.set_exception(exc)
        else:
            self.set_result(call.result())


def _enter(loop: asyncio.AbstractEventLoop, context: Context, func: Callable, args: tuple) -> Any:
    local = SyncToAsync.threadlocal  # what asgiref's sync_to_async sets on its threads
    local.main_event_loop, local.main_event_loop_pid = loop, os.getpid()
    return context.run(func, *args)


def default_size() -> int:
    """``DJNG_THREADS``, else what ``ThreadPoolExecutor`` would choose."""
    value = os.environ.get("DJNG_THREADS")
    if value:
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            raise ValueError(f"DJNG_THREADS must be a number of threads (1 or more), got {value!r}")
        return size
    return min(32, (os.cpu_count() or 1) + 4)


class WorkerPool:
    """Up to ``size`` long-lived threads, each lent to one request at a time.

    ``on_take`` runs on a thread each time a request takes it (Django's
    per-request connection housekeeping, before the request's first query).
    """

    def __init__(
        self, size: int | None = None, *, on_take: Callable[[], Any] | None = None
    ) -> None:
        size = default_size() if size is None else size
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"djng.asgi(threads=...) needs 1 or more threads, got {size!r}")
        self.size = size
        self._on_take = on_take
        self._threads: list[ThreadPoolExecutor] = []
        self._free: list[ThreadPoolExecutor] = []
        self._waiting: deque[RequestWorker] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def request_worker(self) -> RequestWorker:
        """The executor for one request; :meth:`RequestWorker.release` gives its thread back."""
        return RequestWorker(self)

    @property
    def busy(self) -> int:
        """How many threads requests hold now."""
        with self._lock:
            return len(self._threads) - len(self._free)

    def _take(self, worker: RequestWorker) -> ThreadPoolExecutor | None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the djng worker pool is closed (the app has shut down)")
            if self._free:
                return self._free.pop()
            if len(self._threads) < self.size:
                thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="djng-worker")
                self._threads.append(thread)
                return thread
            self._waiting.append(worker)
            return None

    def _give_back(self, thread: ThreadPoolExecutor) -> None:
        with self._lock:
            while self._waiting:
                waiting = self._waiting.popleft()
                if waiting.wants_thread():
                    break
            else:
                self._free.append(thread)
                return
        waiting.assign(thread)

    def _drop(self, worker: RequestWorker) -> None:
        with self._lock:
            if worker in self._waiting:
                self._waiting.remove(worker)

    def close(self, at_exit: Callable[[], Any] | None = None) -> None:
        """Run ``at_exit`` on every thread (closing its database connections), then
        stop the threads. Requests that need a thread afterwards fail."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for thread in threads:
            if at_exit is not None:
                try:
                    thread.submit(at_exit).result(timeout=30)
                except Exception:  # one thread's failure must not keep the others open
                    pass
            thread.shutdown(wait=False)


class RequestWorker(Executor):
    """One request's executor: the thread it takes from the pool at its first call."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._thread: ThreadPoolExecutor | None = None
        self._queued: list[tuple[Future, Callable, tuple, dict]] = []
        self._released = False

    @property
    def taken(self) -> bool:
        """Whether this request holds a thread."""
        return self._thread is not None

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        thread = self._thread
        if thread is not None:
            return thread.submit(fn, *args, **kwargs)
        if self._released:
            raise RuntimeError("this request has ended; it cannot run more sync work")
        if self._queued:  # waiting for a thread already: queue behind the first call
            future: Future = Future()
            self._queued.append((future, fn, args, kwargs))
            return future
        # Queued before asking the pool: a thread given back meanwhile (from another
        # thread: a websocket's worker gives its thread back after each call) must see
        # that this request wants one, or the hand-over is lost and the call waits forever.
        call = (Future(), fn, args, kwargs)
        self._queued.append(call)
        try:
            thread = self._pool._take(self)  # noqa: SLF001 - the pool's own method
        except BaseException:
            self._queued.remove(call)
            raise
        if thread is None:
            return call[0]
        self._queued.remove(call)
        return self._start(thread, fn, args, kwargs)

    def wants_thread(self) -> bool:
        return not self._released and bool(self._queued)

    def assign(self, thread: ThreadPoolExecutor) -> None:
        """Called by the pool when a thread is free for this waiting request."""
        queued, self._queued = self._queued, []
        started = False
        for future, fn, args, kwargs in queued:
            if future.set_running_or_notify_cancel():
                if started:
                    _chain(thread.submit(fn, *args, **kwargs), future)
                else:
                    _chain(self._start(thread, fn, args, kwargs), future)
                    started = True
        if not started:
            self._thread = thread  # every waiting call was cancelled: keep it to release

    def _start(self, thread: ThreadPoolExecutor, fn: Callable, args: tuple, kwargs: dict) -> Future:
        """Keep ``thread`` for this request and run its first call there, after the
        pool's ``on_take`` (in the same hand-over: one wake-up of the thread)."""
        self._thread = thread
        on_take = self._pool._on_take  # noqa: SLF001 - the pool's own hook
        if on_take is None:
            return thread.submit(fn, *args, **kwargs)
        return thread.submit(_after, on_take, fn, args, kwargs)

    def release(self) -> None:
        """The request has ended: give its thread back (to a waiting request first)."""
        self._released = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._pool._give_back(thread)  # noqa: SLF001
        elif self._queued:
            self._pool._drop(self)  # noqa: SLF001
            for future, *_ in self._queued:
                future.cancel()
            self._queued = []

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.release()


def _after(first: Callable, fn: Callable, args: tuple, kwargs: dict) -> Any:
    first()
    return fn(*args, **kwargs)


def _chain(source: Future, target: Future) -> None:
    def copy(done: Future) -> None:
        exc = done.exception()
        if exc is None:
            target.set_result(done.result())
        else:
            target.set_exception(exc)

    source.add_done_callback(copy)
