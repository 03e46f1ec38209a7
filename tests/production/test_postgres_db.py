"""djng.db.Database on a real PostgreSQL server (DJNG_TEST_POSTGRES_URL), with psycopg 3."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connections, models

import djng

from .conftest import database_name, pg_query

djng.registry.setup()  # the app registry must be ready before a model is defined


class Note(models.Model):
    text = models.CharField(max_length=100)

    class Meta:
        app_label = "production_tests"


def _create_table(database) -> None:
    with database.connection.schema_editor() as editor:
        editor.create_model(Note)


def _texts(url: str) -> list[str]:
    return [row[0] for row in pg_query(url, "SELECT text FROM production_tests_note ORDER BY id")]


def pid_view(request):
    with djng.db.current().connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_database()")
        pid, name = cursor.fetchone()
    return {"pid": pid, "database": name}


def test_queries_work(database_url):
    database = djng.db.Database(database_url)
    with djng.db.use(database):
        _create_table(database)
        Note.objects.create(text="one")
        Note.objects.bulk_create([Note(text="two"), Note(text="three")])
        assert Note.objects.count() == 3
        assert list(Note.objects.filter(text__startswith="t").order_by("id")
                    .values_list("text", flat=True)) == ["two", "three"]
        assert Note.objects.filter(text="one").update(text="uno") == 1
        assert djng.db.current().connection.vendor == "postgresql"
        assert database.connection.connection.info.dbname == database_name(database_url)
    assert _texts(database_url) == ["uno", "two", "three"]


def test_connection_reused_across_requests_with_conn_max_age(database_url):
    database = djng.db.Database(database_url, conn_max_age=60)
    client = djng.testing.Client(pid_view)
    with djng.db.use(database):
        first = client.get("/").json()
        assert database.connection.connection is not None  # kept open after the request
        second = client.get("/").json()
    assert first["database"] == database_name(database_url)
    assert first["pid"] == second["pid"]


def test_connection_closed_after_each_request_without_conn_max_age(database_url):
    database = djng.db.Database(database_url, conn_max_age=0)
    client = djng.testing.Client(pid_view)
    with djng.db.use(database):
        first = client.get("/").json()
        assert database.connection.connection is None  # closed when the request ended
        second = client.get("/").json()
        assert database.connection.connection is None
    assert first["pid"] != second["pid"]


def _wait_until_gone(server_url: str, pid: int) -> None:
    deadline = time.monotonic() + 10
    while pg_query(server_url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)):
        if time.monotonic() > deadline:
            pytest.fail(f"PostgreSQL backend {pid} was not terminated within 10 s")
        time.sleep(0.02)


def test_health_checks_replace_a_terminated_connection(database_url, postgres_url):
    database = djng.db.Database(database_url, conn_max_age=60, conn_health_checks=True)
    client = djng.testing.Client(pid_view)
    with djng.db.use(database):
        first = client.get("/").json()
        terminated = pg_query(postgres_url, "SELECT pg_terminate_backend(%s)", (first["pid"],))
        assert terminated == [(True,)]
        _wait_until_gone(postgres_url, first["pid"])
        second = client.get("/")
    assert second.status_code == 200
    assert second.json()["pid"] != first["pid"]


# -- per-request switching between two real databases -------------------------------------


@pytest.fixture
def two_databases(make_database):
    """(main, premium) databases, each with the notes table, and their URLs."""
    main_url, premium_url = make_database(), make_database()
    main, premium = djng.db.Database(main_url), djng.db.Database(premium_url)
    _create_table(main)
    _create_table(premium)
    for database in (main, premium):
        database.connection.close()
    return main, premium, main_url, premium_url


class Boom(Exception):
    pass


def _notes_app(premium):
    def notes(request):
        if request.headers.get("X-Plan") == "premium":
            djng.db.push(premium)
        if request.method == "POST":
            with djng.db.atomic():
                Note.objects.create(text=request.GET["text"])
                if "fail" in request.GET:
                    raise Boom("rolled back")
        return {
            "alias": djng.db.current().alias,
            "texts": list(Note.objects.order_by("id").values_list("text", flat=True)),
        }

    return notes


def test_header_switches_database_for_reads_and_writes(two_databases):
    main, premium, main_url, premium_url = two_databases
    client = djng.testing.Client(_notes_app(premium))
    with djng.db.use(main):
        assert client.post("/?text=for-main").json() == {"alias": main.alias, "texts": ["for-main"]}
        response = client.post("/?text=for-premium", headers={"X-Plan": "premium"}).json()
        assert response == {"alias": premium.alias, "texts": ["for-premium"]}
        client.post("/?text=also-main")
        assert client.get("/", headers={"X-Plan": "premium"}).json()["texts"] == ["for-premium"]
        assert client.get("/").json()["texts"] == ["for-main", "also-main"]
    assert _texts(main_url) == ["for-main", "also-main"]
    assert _texts(premium_url) == ["for-premium"]


def test_atomic_uses_the_pushed_database(two_databases):
    main, premium, main_url, premium_url = two_databases

    def view(request):
        djng.db.push(premium)
        with djng.db.atomic():
            Note.objects.create(text="inside")
            in_transaction = premium.connection.in_atomic_block
            main_untouched = not main.connection.in_atomic_block
        return {"premium_atomic": in_transaction, "main_untouched": main_untouched}

    with djng.db.use(main):
        result = djng.testing.Client(view).get("/").json()
    assert result == {"premium_atomic": True, "main_untouched": True}
    assert _texts(premium_url) == ["inside"]
    assert _texts(main_url) == []


def test_rollback_inside_atomic_leaves_nothing_in_either_database(two_databases):
    main, premium, main_url, premium_url = two_databases
    client = djng.testing.Client(_notes_app(premium), raise_exceptions=False)
    with djng.db.use(main):
        failed = client.post("/?text=lost&fail=1", headers={"X-Plan": "premium"})
        assert failed.status_code == 500
        failed = client.post("/?text=lost-too&fail=1")
        assert failed.status_code == 500
        # Both connections are usable afterwards, and still empty.
        assert client.get("/", headers={"X-Plan": "premium"}).json()["texts"] == []
        assert client.get("/").json()["texts"] == []
        assert client.post("/?text=kept", headers={"X-Plan": "premium"}).status_code == 200
    assert _texts(main_url) == []
    assert _texts(premium_url) == ["kept"]


def test_unreachable_postgres_is_an_operational_error():
    from conftest import free_port

    database = djng.db.Database(f"postgres://nobody:hunter2@127.0.0.1:{free_port()}/nothing")
    try:
        with pytest.raises(OperationalError) as info, djng.db.use(database):
            Note.objects.count()
        assert "hunter2" not in str(info.value)
    finally:
        connections[database.alias].close()
