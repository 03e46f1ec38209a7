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


def test_after_a_request_that_used_the_database_the_next_ones_skip_the_housekeeping(
    tmp_path, monkeypatch
):
    """One ORM query must not slow every later request of its thread."""
    database = djng.db.SQLite(tmp_path / "exact.sqlite3")
    calls = []
    real = housekeeping.close_old_connections
    monkeypatch.setattr(
        housekeeping, "close_old_connections", lambda **k: calls.append(1) or real(**k)
    )

    def query(request):
        with djng.db.current().connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "queried"

    def run():
        client = djng.testing.Client(
            djng.reconfigure(djng.Router(djng.path("q", query), djng.path("", lambda r: "hi")),
                             db=database)
        )
        assert client.get("/q").text == "queried"
        after_query = len(calls)
        for _ in range(3):
            assert client.get("/").text == "hi"
        return after_query, len(calls), housekeeping._thread.__dict__.get("connected")

    after_query, after_hellos, connected = in_new_thread(run)
    assert after_query >= 1  # the query's request closed its connection
    assert after_hellos == after_query  # later requests had nothing to close
    assert connected is False


def test_a_kept_connection_keeps_the_housekeeping_on(tmp_path):
    database = djng.db.SQLite(tmp_path / "kept.sqlite3", conn_max_age=60)

    def query(request):
        with djng.db.current().connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "queried"

    def run():
        djng.testing.Client(djng.reconfigure(query, db=database)).get("/")
        still = housekeeping._thread.__dict__.get("connected")
        connections[database.alias].close()
        return still

    assert in_new_thread(run) is True


def test_request_finished_is_sent_only_when_a_receiver_has_work():
    sent = []
    djng.wsgi(lambda request: "x")  # installs the guarded receivers
    original = signals.request_finished.send
    try:
        signals.request_finished.send = lambda **kwargs: sent.append(kwargs) or original(**kwargs)
        # A fresh thread has no connection history (this test's thread may have one).
        in_new_thread(lambda: djng.testing.Client(lambda request: "quiet").get("/"))
        assert sent == []
        seen = []

        def mine(sender, **kwargs):
            seen.append(sender)

        signals.request_finished.connect(mine)
        try:
            in_new_thread(lambda: djng.testing.Client(lambda request: "yours run").get("/"))
        finally:
            signals.request_finished.disconnect(mine)
        assert len(sent) == 1 and len(seen) == 1
    finally:
        signals.request_finished.send = original
