"""Django's per-request housekeeping still happens wherever it has work to do."""

from __future__ import annotations

import threading
import weakref

from django.core import signals
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections

import djng
from djng import housekeeping


class ClosingCache(LocMemCache):
    def __init__(self) -> None:
        super().__init__("housekeeping", {})
        self.closed = 0

    def close(self, **kwargs) -> None:
        self.closed += 1


def receivers(signal) -> list:
    return [r() if isinstance(r, weakref.ref) else r for _, r, *_ in signal.receivers]


def in_new_thread(func):
    """Run ``func`` in a fresh thread (with no connection history) and return its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(func()))
    thread.start()
    thread.join()
    return result[0]


def test_a_request_that_opened_a_connection_closes_it_at_the_end(tmp_path):
    database = djng.db.SQLite(tmp_path / "house.sqlite3")  # conn_max_age=0

    def query(request):
        with djng.db.current().connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"

    def run():
        client = djng.testing.Client(djng.reconfigure(query, db=database))
        assert client.get("/").text == "ok"
        return connections[database.alias].connection

    assert in_new_thread(run) is None  # closed by request_finished, as in Django


def test_old_connections_are_closed_when_the_next_request_starts(tmp_path):
    database = djng.db.SQLite(tmp_path / "old.sqlite3", conn_max_age=0)

    def run():
        # Opened outside any request (say, at import), then a request comes in.
        database.connection.ensure_connection()
        assert database.connection.connection is not None
        djng.testing.Client(lambda request: "hello").get("/")
        return connections[database.alias].connection

    assert in_new_thread(run) is None


def test_a_request_that_used_the_cache_closes_it():
    backend = ClosingCache()

    def view(request):
        from django.core.cache import cache

        cache.set("k", "v")
        return "ok"

    client = djng.testing.Client(djng.reconfigure(view, cache=backend))
    client.get("/")
    assert backend.closed == 1
    djng.testing.Client(djng.reconfigure(lambda request: "no cache", cache=backend)).get("/")
    assert backend.closed == 1  # nothing opened, nothing closed


def test_django_receivers_are_replaced_by_guarded_ones_and_yours_still_run():
    djng.wsgi(lambda request: "x")  # installs
    started = receivers(signals.request_started)
    finished = receivers(signals.request_finished)
    assert housekeeping.reset_queries_if_connected in started
    assert housekeeping.close_old_connections_if_connected in started
    assert housekeeping.close_caches_if_opened in finished
    seen = []

    def receiver(**kwargs):
        seen.append(kwargs.get("environ", {}).get("PATH_INFO"))

    signals.request_started.connect(receiver)
    try:
        djng.testing.Client(lambda request: "x").get("/mine")
    finally:
        signals.request_started.disconnect(receiver)
    assert seen == ["/mine"]
