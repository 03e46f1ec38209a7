"""djng.db: databases as plain objects, URLs, atomic(), and the ORM following the stack."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as django_connection
from django.db import connections

import djng
from djng import registry
from djng.services.db import parse_database_url
from djng.services.stack import _UNSET
from djng.testing import Client

#: Seconds a thread waits for another before giving up: a guard against hanging, not a
#: timing assertion.
WAIT = 30

registry.setup()

from django.db import models  # noqa: E402


class Note(models.Model):
    text = models.CharField(max_length=50)

    class Meta:
        app_label = "svc_tests"


def with_notes(database: djng.db.Database) -> djng.db.Database:
    with database.connection.schema_editor() as editor:
        editor.create_model(Note)
    return database


def count(database: djng.db.Database) -> int:
    """Rows of the Note table, read with SQL on ``database`` itself (not through the stack)."""
    with database.connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Note._meta.db_table}")
        return cursor.fetchone()[0]


@pytest.fixture
def two_dbs():
    """(a, b): two in-memory databases with the Note table; ``a`` is the process default."""
    a, b = with_notes(djng.db.SQLite(":memory:")), with_notes(djng.db.SQLite(":memory:"))
    djng.db.configure(a)
    yield a, b
    a.connection.close()
    b.connection.close()


# -- databases without any stack ------------------------------------------------------------


def test_sqlite_file_is_created_on_first_query_only(tmp_path):
    path = tmp_path / "app.sqlite3"
    database = djng.db.SQLite(path)
    assert not path.exists()
    with djng.db.use(database):
        assert djng.db.current() is database
    assert not path.exists()
    with database.connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert path.exists()
    database.connection.close()


def test_sqlite_memory_is_shared_across_threads():
    database = djng.db.SQLite(":memory:")

    def create():
        with database.connection.cursor() as cursor:
            cursor.execute("CREATE TABLE shared (x INTEGER)")
            cursor.execute("INSERT INTO shared VALUES (42)")
        database.connection.close()

    thread = threading.Thread(target=create)
    thread.start()
    thread.join()
    with database.connection.cursor() as cursor:
        cursor.execute("SELECT x FROM shared")
        assert cursor.fetchall() == [(42,)]
    database.connection.close()


def test_two_memory_databases_are_separate():
    a, b = with_notes(djng.db.SQLite(":memory:")), djng.db.SQLite(":memory:")
    with b.connection.cursor() as cursor:
        tables = b.connection.introspection.table_names(cursor)
    assert Note._meta.db_table not in tables
    assert count(a) == 0


def test_each_database_is_a_django_alias(adapter):
    alias = f"svc_named_{adapter}"  # an alias is the process's: one per run of this test
    database = djng.db.SQLite(":memory:", alias=alias)
    assert database.alias == alias
    assert connections[alias] is database.connection
    with pytest.raises(ValueError, match="already exists"):
        djng.db.SQLite(":memory:", alias=alias)
    assert djng.db.SQLite(":memory:").alias != djng.db.SQLite(":memory:").alias


# -- database URLs ------------------------------------------------------------------------


def test_postgres_url_is_parsed():
    config = parse_database_url("postgres://user:p%40ss@db.example:5432/name?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("name", "user", "p@ss")
    assert (config["HOST"], config["PORT"]) == ("db.example", "5432")
    assert config["OPTIONS"] == {"sslmode": "require"}
    database = djng.db.Database("postgresql://u@h/other")
    assert database.settings["NAME"] == "other" and database.settings["PORT"] == ""
    assert "other" in repr(database)


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("mysql://u:p@h:3306/d", "django.db.backends.mysql"),
        ("mariadb://u@h/d", "django.db.backends.mysql"),
        ("oracle://u@h/d", "django.db.backends.oracle"),
        ("pgsql://u@h/d", "django.db.backends.postgresql"),
    ],
)
def test_other_schemes_map_to_django_engines(url, engine):
    assert parse_database_url(url)["ENGINE"] == engine


def test_sqlite_urls_are_relative_or_absolute():
    assert parse_database_url("sqlite:///rel.db")["NAME"] == "rel.db"
    assert parse_database_url("sqlite:////abs/path/x.db")["NAME"] == "/abs/path/x.db"
    assert parse_database_url("sqlite3:///r.db")["ENGINE"] == "django.db.backends.sqlite3"


def test_sqlite_memory_url():
    assert parse_database_url("sqlite://:memory:")["NAME"] == ":memory:"


def test_unsupported_scheme_lists_the_supported_ones():
    with pytest.raises(ValueError) as info:
        parse_database_url("redis://localhost/0")
    message = str(info.value)
    assert "redis://" in message
    for scheme in ("postgres://", "sqlite://", "mysql://", "oracle://"):
        assert scheme in message
    with pytest.raises(ValueError, match="scheme"):
        parse_database_url("just-a-name")


def test_a_url_without_a_database_name_is_refused():
    with pytest.raises(ValueError, match="names no database"):
        parse_database_url("postgres://user@host:5432")
    with pytest.raises(ValueError, match="names no file"):
        parse_database_url("sqlite://")


SECRET = "Sup3rSecretPw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://user:{SECRET}@host:notaport/db",
        f"postgres://user:{SECRET}@host:99999/db",
        f"postgres://user:{SECRET}@[::1/db",
        f"postgres://user:{SECRET}@host:5432",
        f"redis://user:{SECRET}@host/0",
        f"postgres://user:{SECRET}@ho@st:x/db",
        f"postgres://user:{SECRET}/x@host:5432/db",
        f"postgres://user:{SECRET}?x@host/db",
        f"sqlite://user:{SECRET}@host",
    ],
)
def test_url_errors_never_contain_the_password(url):
    with pytest.raises(ValueError) as info:
        parse_database_url(url)
    assert SECRET not in str(info.value)
    with pytest.raises(ValueError) as info:
        djng.db.Database(url)
    assert SECRET not in str(info.value)


def test_database_from_a_dict_and_wrong_arguments():
    database = djng.db.Database({"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"})
    assert connections[database.alias].vendor == "sqlite"
    with pytest.raises(ValueError, match="ENGINE"):
        djng.db.Database({"NAME": "x"})
    with pytest.raises(TypeError, match="URL or a dict"):
        djng.db.Database(42)


def test_a_url_string_is_accepted_as_a_backend(tmp_path):
    with djng.db.use(f"sqlite:///{tmp_path}/url.db") as scope:
        current = djng.db.current()
        assert isinstance(current, djng.db.Database)
        assert current.settings["NAME"] == f"{tmp_path}/url.db"
    assert scope is not None
    with pytest.raises(TypeError, match=r"djng\.db expects a database"):
        djng.db.use(3.14)


# -- the service --------------------------------------------------------------------------


def test_the_embedded_default_is_db_sqlite3_in_the_app_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DJNG_APP_DIR", str(tmp_path))
    djng.db.reset()
    assert djng.db._default is _UNSET
    database = djng.db.current()
    assert isinstance(database, djng.db.SQLite)
    assert database.path == str(tmp_path / "db.sqlite3")
    assert not (tmp_path / "db.sqlite3").exists()
    with_notes(database)
    assert (tmp_path / "db.sqlite3").exists()
    database.connection.close()


def test_without_an_app_folder_there_is_no_default_database_and_the_error_says_why(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    djng.db.reset()
    with pytest.raises(RuntimeError, match=r"djng\.db has no default"):
        Note.objects.count()
    assert list(tmp_path.iterdir()) == []


def test_django_default_connection_mirrors_the_configured_default(tmp_path):
    database = djng.db.SQLite(tmp_path / "mirror.db")
    djng.db.configure(database)
    assert django_connection.settings_dict["NAME"] == str(tmp_path / "mirror.db")
    with django_connection.cursor() as cursor:
        cursor.execute("CREATE TABLE mirrored (x INTEGER)")
    with database.connection.cursor() as cursor:
        assert "mirrored" in database.connection.introspection.table_names(cursor)
    django_connection.close()
    database.connection.close()


def test_django_default_connection_follows_a_second_configure(tmp_path):
    first = djng.db.SQLite(tmp_path / "first.db")
    second = djng.db.SQLite(tmp_path / "second.db")
    djng.db.configure(first)
    with django_connection.cursor() as cursor:
        cursor.execute("CREATE TABLE in_first (x INTEGER)")
    djng.db.configure(second)
    try:
        with django_connection.cursor() as cursor:
            cursor.execute("CREATE TABLE in_second (x INTEGER)")
        with second.connection.cursor() as cursor:
            assert "in_second" in second.connection.introspection.table_names(cursor)
    finally:
        django_connection.close()
        first.connection.close()
        second.connection.close()


# -- the ORM follows the stack ----------------------------------------------------------------


def test_reads_and_writes_follow_the_database_in_effect(two_dbs):
    a, b = two_dbs
    Note.objects.create(text="in a")
    with djng.db.use(b):
        note = Note.objects.create(text="in b")
        assert note._state.db == b.alias
        assert list(Note.objects.values_list("text", flat=True)) == ["in b"]
        note.text = "changed in b"
        note.save()
    assert list(Note.objects.values_list("text", flat=True)) == ["in a"]
    assert (count(a), count(b)) == (1, 1)
    with djng.db.use(b):
        assert Note.objects.get().text == "changed in b"


def test_a_queryset_built_outside_is_evaluated_on_the_database_in_effect(two_dbs):
    a, b = two_dbs
    Note.objects.create(text="a")
    with djng.db.use(b):
        Note.objects.bulk_create([Note(text="b1"), Note(text="b2")])
    queryset = Note.objects.order_by("text")
    with djng.db.use(b):
        assert [n.text for n in queryset] == ["b1", "b2"]
    assert [n.text for n in Note.objects.order_by("text")] == ["a"]


def test_the_orm_in_a_view_follows_push_for_one_request(two_dbs):
    a, b = two_dbs

    def view(request):
        if request.GET.get("push"):
            djng.db.push(b)
        Note.objects.create(text=request.GET.get("t", ""))
        return str(Note.objects.count())

    client = Client(view)
    assert client.get("/", {"push": 1, "t": "b"}).text == "1"
    assert client.get("/", {"t": "a"}).text == "1"
    assert client.get("/", {"t": "a2"}).text == "2"
    assert (count(a), count(b)) == (2, 1)


def test_the_orm_in_another_thread_follows_configure(two_dbs):
    a, b = two_dbs
    djng.db.configure(b)

    def worker():
        Note.objects.create(text="from thread")
        connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert (count(a), count(b)) == (0, 1)


# -- atomic() -----------------------------------------------------------------------------


def test_atomic_rolls_back_on_the_database_in_effect(two_dbs):
    a, b = two_dbs
    with djng.db.use(b):
        with pytest.raises(ZeroDivisionError):
            with djng.db.atomic():
                Note.objects.create(text="rolled back")
                assert b.connection.in_atomic_block
                assert not a.connection.in_atomic_block
                raise ZeroDivisionError
        assert Note.objects.count() == 0
    assert (count(a), count(b)) == (0, 0)


def test_atomic_commits_on_the_database_in_effect(two_dbs):
    a, b = two_dbs
    with djng.db.use(b), djng.db.atomic():
        Note.objects.create(text="kept")
    assert (count(a), count(b)) == (0, 1)


@djng.db.atomic
def _create_then_fail(text):
    Note.objects.create(text=text)
    _create_then_fail.seen.append(djng.db.current())
    raise LookupError(text)


_create_then_fail.seen = []


@djng.db.atomic()
def _create(text):
    Note.objects.create(text=text)
    return djng.db.current().connection.in_atomic_block


def test_atomic_as_a_decorator_picks_the_database_at_call_time(two_dbs):
    a, b = two_dbs
    _create_then_fail.seen.clear()
    with djng.db.use(b):
        with pytest.raises(LookupError):
            _create_then_fail("x")
        assert _create("kept in b") is True
    with pytest.raises(LookupError):
        _create_then_fail("y")
    assert _create("kept in a") is True
    assert _create_then_fail.seen == [b, a]
    assert (count(a), count(b)) == (1, 1)


def test_atomic_decorator_is_safe_in_several_threads(tmp_path):
    # Files, not ':memory:': see test_memory_database_can_be_read_during_a_transaction.
    a = with_notes(djng.db.SQLite(tmp_path / "a.db"))
    b = with_notes(djng.db.SQLite(tmp_path / "b.db"))
    barrier = threading.Barrier(3, timeout=WAIT)
    errors = []

    @djng.db.atomic
    def write(text):
        Note.objects.create(text=text)
        return djng.db.current().connection.in_atomic_block

    def worker(i):
        try:
            barrier.wait()
            with djng.db.use(b if i % 2 else a):
                assert write(f"t{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (count(a), count(b)) == (2, 1)


def test_memory_database_can_be_read_during_another_threads_transaction():
    database = with_notes(djng.db.SQLite(":memory:"))
    in_transaction, read_done = threading.Event(), threading.Event()
    seen = []

    def writer():
        try:
            with djng.db.use(database), djng.db.atomic():
                Note.objects.create(text="uncommitted")
                in_transaction.set()
                read_done.wait(WAIT)
        finally:
            in_transaction.set()
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    in_transaction.wait(WAIT)
    try:
        with djng.db.use(database):
            seen.append(Note.objects.count())
    except Exception as exc:
        seen.append(exc)
    finally:
        read_done.set()
        thread.join()
    assert seen == [0]  # as a file database answers: the uncommitted row is not visible
    assert count(database) == 1


# -- a server that accepts connections and never answers ----------------------------------


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word (a hung database)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_database_connections_have_a_default_connect_timeout():
    pytest.importorskip("psycopg")
    assert djng.db.Database("postgres://u@db.example/x").settings["OPTIONS"] == {
        "connect_timeout": 5
    }
    url = "postgres://u@db.example/x?connect_timeout=3"
    assert djng.db.Database(url).settings["OPTIONS"]["connect_timeout"] == "3"
    database = djng.db.Database("postgres://u@db.example/x", connect_timeout=7)
    assert database.settings["OPTIONS"]["connect_timeout"] == 7
    assert "connect_timeout" not in djng.db.SQLite(":memory:").settings["OPTIONS"]


def test_a_silent_database_fails_the_request_and_the_health_check_in_seconds(silent_server):
    pytest.importorskip("psycopg")
    import time

    database = djng.db.Database(f"postgres://u@127.0.0.1:{silent_server}/x", connect_timeout=2)

    def view(request):
        return {"rows": count(database)}

    app = djng.Router(djng.path("", view), djng.path("health", djng.health(["db"])))
    client = Client(app, raise_exceptions=False)
    with djng.db.use(database):
        start = time.monotonic()
        response = client.get("/")
        assert response.status_code == 500
        health = client.get("/health")
        elapsed = time.monotonic() - start
    assert health.status_code == 503
    assert health.json()["checks"]["db"]["ok"] is False
    assert elapsed < WAIT  # a guard against hanging (2 s each), not a timing assertion
    connections[database.alias].close()


def test_pushing_a_database_url_per_request_reuses_one_alias(tmp_path):
    url = f"sqlite:///{tmp_path}/per-request.sqlite3"
    seen = set()

    def view(request):
        djng.db.push(url)
        seen.add(djng.db.current().alias)
        return "ok"

    before = len(connections.settings)
    client = Client(view)
    for _ in range(300):
        assert client.get("/").text == "ok"
    assert len(seen) == 1
    assert len(connections.settings) == before + 1
    assert djng.db.Database(url).alias in seen  # the same URL, the same database
    assert djng.db.SQLite(tmp_path / "per-request.sqlite3").alias in seen



def test_raw_connection_before_djng_db_says_how_to_set_one_up(tmp_path):
    import subprocess
    import sys

    from conftest import TIMEOUT, child_env

    (tmp_path / "raw.py").write_text(
        "import djng\nfrom django.db import connection\nconnection.cursor()\n"
    )
    result = subprocess.run(
        [sys.executable, "raw.py"], cwd=tmp_path, env=child_env(), capture_output=True,
        text=True, timeout=TIMEOUT,
    )
    assert result.returncode == 1
    assert "ImproperlyConfigured: django.db.connection is djng.db's default" in result.stderr
    assert "djng.db.configure(...)" in result.stderr and "DJNG_DATABASE_URL" in result.stderr
    assert "settings.DATABASES" not in result.stderr
