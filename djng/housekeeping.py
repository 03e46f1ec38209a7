"""Django's per-request housekeeping, skipped where it provably has nothing to do.

Django connects ``reset_queries`` and ``close_old_connections`` to
``request_started``, and ``close_old_connections`` and ``close_caches`` to
``request_finished``. Each walks Django's connection handlers on every request,
which costs a hello-world request more than all of djng's own work. djng
replaces them with the same functions behind a cheap guard:

- the database ones run only in a thread that has a database connection open,
  or queries logged (``connection_created`` fired there, and the last request's
  end did not close them all): once a request's connections are closed again,
  the next requests skip them, so one ORM query does not slow every later
  request of its thread;
- ``close_caches`` runs only in a request whose context used a cache handle
  (djng's ``ContextCache`` is the only cache Django is configured with);
- ``reset_urlconf`` does not run inside a djng request, whose context (and the
  urlconf set in it) is discarded when the request ends.

Neither signal is sent when its only receivers are these guarded ones and they
would all return at once (sending costs more than all of djng's own work on a
hello request). Any receiver you connect makes it sent again, so yours always run.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core import signals
from django.core.cache import close_caches
from django.db import close_old_connections, connections, reset_queries
from django.db.backends.signals import connection_created

from . import _django
from .state import cache_handle_opened, in_request

__all__ = ["close_response", "install", "send_request_finished", "send_request_started"]

_thread = threading.local()

_installed = False


def _note_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    _thread.connected = True


def reset_queries_if_connected(**kwargs: Any) -> None:
    if getattr(_thread, "connected", False):
        reset_queries(**kwargs)


def close_old_connections_if_connected(**kwargs: Any) -> None:
    if getattr(_thread, "connected", False):
        close_old_connections(**kwargs)
        _thread.connected = _still_connected()


def _still_connected() -> bool:
    """True while this thread holds an open connection, or queries to reset."""
    return any(
        connection.connection is not None or connection.queries_log
        for connection in connections.all(initialized_only=True)
    )


def close_caches_if_opened(**kwargs: Any) -> None:
    if cache_handle_opened.get():
        close_caches(**kwargs)


def reset_urlconf_outside_djng(**kwargs: Any) -> None:
    if not in_request.get():
        from django.urls import set_urlconf

        set_urlconf(None)


#: The receivers of each signal when they are all guarded ones (compared on each request).
_quiet_started: list = []
_quiet_finished: list = []


def send_request_started(sender: Any, environ: dict) -> None:
    """Send ``request_started``, unless every receiver would return at once."""
    if getattr(_thread, "connected", False) or signals.request_started.receivers != _quiet_started:
        signals.request_started.send(sender=sender, environ=environ)


def send_request_finished(sender: Any) -> None:
    """Send ``request_finished``, unless every receiver would return at once."""
    if (
        getattr(_thread, "connected", False)
        or cache_handle_opened.get()
        or not in_request.get()
        or signals.request_finished.receivers != _quiet_finished
    ):
        signals.request_finished.send(sender=sender)


def finished_has_work() -> bool:
    """Whether ``request_finished`` has work beyond this thread's connections (a
    receiver of yours, a cache handle to close): ``djng.asgi`` then closes a
    request that used no worker thread on one all the same."""
    return cache_handle_opened.get() or signals.request_finished.receivers != _quiet_finished


def thread_connected() -> bool:
    """Whether this thread holds database connections (or queries to reset)."""
    return getattr(_thread, "connected", False)


def close_unanswered(request: Any) -> None:
    """End a request that got no response (the client left while the view ran):
    what closing its response would do, as Django's ASGI handler does."""
    request.close()
    send_request_finished(None)


def worker_taken() -> None:
    """A request took this worker thread (``djng.asgi``): the connection housekeeping
    ``request_started`` does, on the thread whose connections it will use."""
    if getattr(_thread, "connected", False):
        reset_queries()
        close_old_connections_if_connected()


def close_connections() -> None:
    """Close this thread's database connections (a worker thread that stops)."""
    if getattr(_thread, "connected", False):
        connections.close_all()
        _thread.connected = False


def close_response(response: Any) -> None:
    """``response.close()``, with ``request_finished`` sent only when a receiver has work."""
    _django.close_response(response, send_request_finished)


def install() -> None:
    """Swap Django's receivers for the guarded ones (once; only when djng configured Django)."""
    global _installed
    if _installed:
        return
    _installed = True
    connection_created.connect(_note_connection, weak=False)
    if connections.all(initialized_only=True):  # opened before djng was imported
        _thread.connected = True
    from django.core.handlers.base import reset_urlconf  # it imports Django's debug views

    swaps = (
        (signals.request_started, reset_queries, reset_queries_if_connected),
        (signals.request_started, close_old_connections, close_old_connections_if_connected),
        (signals.request_finished, close_old_connections, close_old_connections_if_connected),
        (signals.request_finished, close_caches, close_caches_if_opened),
        (signals.request_finished, reset_urlconf, reset_urlconf_outside_djng),
    )
    for signal, django_receiver, guarded in swaps:
        _django.swap_receiver(signal, django_receiver, guarded)
    guarded_started = {reset_queries_if_connected, close_old_connections_if_connected}
    if _django.receiver_functions(signals.request_started) <= guarded_started:
        _quiet_started[:] = signals.request_started.receivers
    guarded_finished = {
        close_old_connections_if_connected, close_caches_if_opened, reset_urlconf_outside_djng
    }
    if _django.receiver_functions(signals.request_finished) <= guarded_finished:
        _quiet_finished[:] = signals.request_finished.receivers
