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

import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async

__all__ = ["RequestWorker", "WorkerPool", "in_worker"]


def in_worker(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``func`` as a coroutine function that runs it on the request's worker thread,
    in a copy of the request's context whose changes come back (asgiref's
    ``sync_to_async``, thread-sensitive). Under WSGI that thread is the request's own."""
    return sync_to_async(func, thread_sensitive=True)


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
        thread = self._pool._take(self)  # noqa: SLF001 - the pool's own method
        if thread is None:
            future = Future()
            self._queued.append((future, fn, args, kwargs))
            return future
        self._start(thread)
        return thread.submit(fn, *args, **kwargs)

    def wants_thread(self) -> bool:
        return not self._released and bool(self._queued)

    def assign(self, thread: ThreadPoolExecutor) -> None:
        """Called by the pool when a thread is free for this waiting request."""
        self._start(thread)
        queued, self._queued = self._queued, []
        for future, fn, args, kwargs in queued:
            if future.set_running_or_notify_cancel():
                _chain(thread.submit(fn, *args, **kwargs), future)

    def _start(self, thread: ThreadPoolExecutor) -> None:
        self._thread = thread
        on_take = self._pool._on_take  # noqa: SLF001 - the pool's own hook
        if on_take is not None:
            thread.submit(on_take)

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


def _chain(source: Future, target: Future) -> None:
    def copy(done: Future) -> None:
        exc = done.exception()
        if exc is None:
            target.set_result(done.result())
        else:
            target.set_exception(exc)

    source.add_done_callback(copy)
