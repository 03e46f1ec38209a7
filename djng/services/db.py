"""``djng.db``: databases on a context-local stack.

Each :class:`Database` is registered as a Django connection alias when it is
created; a database router (:class:`ContextRouter`) sends the ORM's reads and
writes to the alias in effect, and ``djng.db.atomic()`` opens a transaction on
it. Django's ``'default'`` alias mirrors the process default, for code that uses
``django.db.connection`` directly. Connections are opened on first query only.
The process default comes from ``DJNG_DATABASE_URL`` (or ``DATABASE_URL``) when
set, else ``db.sqlite3`` in the app's folder.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from contextlib import ContextDecorator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .. import _django, location, registry
from . import _url
from .stack import Service

__all__ = [
    "ENGINES", "ContextRouter", "Database", "SQLite", "create_tables", "db", "from_url",
    "parse_database_url",
]

#: The URL schemes a database URL may have, and the Django engine of each.
ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "sqlite3": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}

_aliases = itertools.count(1)
_register_lock = threading.Lock()


def parse_database_url(url: str) -> dict[str, Any]:
    """One ``DATABASES`` entry from ``postgres://user:pw@host:5432/name?sslmode=require``.

    ``conn_max_age`` (seconds) and ``conn_health_checks`` (1 or 0) are djng's
    options; the others go to the driver (``OPTIONS``, checked for PostgreSQL).
    ``sqlite:///relative.db``, ``sqlite:////absolute.db`` and ``sqlite://:memory:``
    name SQLite files.
    """
    parts, query = _url.split(url, "database", tuple(ENGINES))
    engine = ENGINES[parts.scheme.lower()]
    # djng's options; every other one goes to the driver.
    connection: dict[str, Any] = {}
    max_age = _url.number(query, "conn_max_age", url, "database")
    if max_age is not None:
        connection["CONN_MAX_AGE"] = max_age
    if "conn_health_checks" in query:
        connection["CONN_HEALTH_CHECKS"] = _url.flag(query, "conn_health_checks", url, "database")
    if engine.endswith("sqlite3"):
        name = ":memory:" if parts.netloc == ":memory:" else unquote(parts.path[1:])
        if not name:
            raise ValueError(
                f"The database URL {_url.redact(url)!r} names no file: "
                "use sqlite:///path/db.sqlite3"
            )
        return {"ENGINE": engine, "NAME": name, "OPTIONS": query, **connection}
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ValueError(
            f"The database URL {_url.redact(url)!r} names no database: add it as the path, "
            f"e.g. {parts.scheme}://user@host:5432/dbname"
        )
    if not parts.hostname:
        raise ValueError(f"The database URL {_url.redact(url)!r} names no host")
    if engine.endswith("postgresql") and query:
        _check_postgres_options(query, url)
    return {
        **connection,
        "ENGINE": engine,
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname),
        "PORT": str(parts.port or ""),
        "OPTIONS": query,
    }


def _check_postgres_options(options: dict[str, str], url: str) -> None:
    try:
        from psycopg.conninfo import make_conninfo
    except ImportError:
        raise ImportError(
            "A postgres:// database needs psycopg: pip install 'djng[postgres]'"
        ) from None
    try:
        make_conninfo("", **options)
    except Exception as exc:
        raise ValueError(
            f"Bad option in database URL {_url.redact(url)!r}: {exc} (djng's own: "
            "conn_max_age, conn_health_checks; the rest are libpq's, such as sslmode and "
            "connect_timeout)"
        ) from None


def from_url(url: str) -> Database:
    """A database from its URL (see :func:`parse_database_url`)."""
    config = parse_database_url(url)
    if config["ENGINE"].endswith("sqlite3"):
        return SQLite(
            config["NAME"],
            conn_max_age=config.get("CONN_MAX_AGE", 0),
            conn_health_checks=config.get("CONN_HEALTH_CHECKS", False),
            **config["OPTIONS"],
        )
    return Database(url)


#: Seconds a connection attempt to a database server may take (libpq's and
#: mysqlclient's ``connect_timeout``): a server that accepts but never answers
#: fails a request in seconds instead of hanging it.
CONNECT_TIMEOUT = 5

#: The engines that reach a server over the network, and so take ``connect_timeout``.
_SERVER_ENGINES = ("django.db.backends.postgresql", "django.db.backends.mysql")


class Database:
    """A database, registered as a Django connection alias (``.alias``).

    ``settings`` is a database URL (``postgres://user@host:5432/name``,
    ``sqlite:///path/db.sqlite3``) or a dict in the shape of one
    ``DATABASES`` entry. The same settings always mean the same alias, so
    building a ``Database`` (or pushing a URL) per request is bounded by the
    distinct databases used; still, create databases once, at import time.
    ``connect_timeout`` (seconds; PostgreSQL and MySQL) applies unless the URL
    or ``options`` give one; ``None`` waits as long as the driver does.
    """

    def __init__(
        self,
        settings: str | Mapping[str, Any],
        *,
        alias: str | None = None,
        conn_max_age: float | None = 0,
        conn_health_checks: bool = False,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(settings, str):
            config = parse_database_url(settings)
        elif isinstance(settings, Mapping):
            config = dict(settings)
            if "ENGINE" not in config:
                raise ValueError("djng.db.Database({...}) needs an 'ENGINE' key")
        else:
            raise TypeError(f"djng.db.Database() takes a URL or a dict, got {settings!r}")
        config.setdefault("CONN_MAX_AGE", conn_max_age)
        config.setdefault("CONN_HEALTH_CHECKS", conn_health_checks)
        config["OPTIONS"] = {**config.get("OPTIONS", {}), **(options or {})}
        if connect_timeout is not None and config["ENGINE"] in _SERVER_ENGINES:
            config["OPTIONS"] = {"connect_timeout": connect_timeout, **config["OPTIONS"]}
        self.settings = config
        self.alias = _register(alias, config)

    @property
    def connection(self) -> Any:
        """This thread's Django connection to the database (opened on first query)."""
        return connections[self.alias]

    def atomic(self, savepoint: bool = True, durable: bool = False) -> transaction.Atomic:
        """A transaction on this database (``transaction.atomic(using=alias)``)."""
        return transaction.atomic(using=self.alias, savepoint=savepoint, durable=durable)

    def __repr__(self) -> str:
        engine = self.settings["ENGINE"].rsplit(".", 1)[-1]
        host = self.settings.get("HOST")
        where = f"{host}/{self.settings.get('NAME')}" if host else self.settings.get("NAME")
        return f"<Database {self.alias!r} {engine} {where}>"


class SQLite(Database):
    """A SQLite file (created on first query), or ``':memory:'``.

    ``':memory:'`` is a throwaway database shared by every thread of the process
    (Django would otherwise give each thread its own empty one). It is a
    temporary file in RAM where the system has one (``/dev/shm``), in WAL mode so
    that concurrent requests wait for each other's locks instead of failing, and
    it is deleted when this object is.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        alias: str | None = None,
        conn_max_age: float | None = 0,
        conn_health_checks: bool = False,
        **options: Any,
    ) -> None:
        self.path = str(path)
        if self.path == ":memory:":
            name = _throwaway_database(self)
            options = {"transaction_mode": "IMMEDIATE", **options}
        else:
            name = self.path
        super().__init__(
            {"ENGINE": "django.db.backends.sqlite3", "NAME": name},
            alias=alias,
            conn_max_age=conn_max_age,
            conn_health_checks=conn_health_checks,
            options=options or None,
        )

    def __repr__(self) -> str:
        return f"SQLite({self.path!r})"


def _throwaway_database(owner: object) -> str:
    import sqlite3
    import tempfile

    ram = "/dev/shm"
    folder = ram if os.path.isdir(ram) and os.access(ram, os.W_OK) else None
    handle, name = tempfile.mkstemp(prefix="djng-", suffix=".sqlite3", dir=folder)
    os.close(handle)
    with contextlib.closing(sqlite3.connect(name)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")  # kept by the file
    weakref.finalize(owner, _remove_database_files, name)
    return name


def _remove_database_files(name: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.remove(name + suffix)


#: The alias given to each distinct database settings (the same settings, the same alias).
_aliases_by_settings: dict[str, str] = {}


def _register(alias: str | None, config: dict[str, Any]) -> str:
    """The connection alias for ``config``: ``alias``, or the one these settings already
    have, else a new one. Registered without mutating a dict other threads may iterate."""
    key = json.dumps(config, sort_keys=True, default=repr)
    with _register_lock:
        if alias is None:
            alias = _aliases_by_settings.get(key)
            if alias is not None:
                return alias
            alias = f"djng_{next(_aliases)}"
            _aliases_by_settings[key] = alias
        elif alias in connections.settings:
            raise ValueError(f"djng.db: a database with alias {alias!r} already exists")
        _django.add_database(alias, config)
        return alias


def _mirror_default(database: Database) -> None:
    """Point Django's 'default' alias at the process default database.

    This thread's open 'default' connection (if any) is closed, so its next use
    reaches the new database; other threads' connections are theirs to close
    (they are at the end of their current request unless ``conn_max_age`` keeps them).
    """
    with _register_lock:
        _django.mirror_database(database.alias, DEFAULT_DB_ALIAS)


def _default() -> Database:
    folder = location.app_dir()
    if folder is None:
        raise RuntimeError(
            "djng.db has no default database: DJNG_DATABASE_URL is not set and the app "
            "has no folder of its own for db.sqlite3 (no script, no DJNG_APP_DIR). "
            "Configure one, e.g. "
            "djng.db.configure(djng.db.SQLite('app.sqlite3')), or push "
            "djng.db.SQLite(':memory:') in tests."
        )
    return SQLite(folder / "db.sqlite3")


def _coerce(backend: Any) -> Database:
    if isinstance(backend, Database):
        return backend
    raise TypeError("Use djng.db.SQLite(path), SQLite(':memory:'), Database(url) or a URL")


class _AtomicInEffect(ContextDecorator):
    """``transaction.atomic`` on the database in effect when the block is entered."""

    def __init__(self, savepoint: bool, durable: bool) -> None:
        self.savepoint = savepoint
        self.durable = durable

    def _recreate_cm(self) -> _AtomicInEffect:
        return type(self)(self.savepoint, self.durable)  # one per call: thread-safe decorator

    def __enter__(self) -> Any:
        self._atomic = db.current().atomic(savepoint=self.savepoint, durable=self.durable)
        return self._atomic.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        return self._atomic.__exit__(*exc_info)


class DbService(Service[Database]):
    Database = Database
    SQLite = SQLite

    def atomic(
        self, func: Callable | None = None, *, savepoint: bool = True, durable: bool = False
    ) -> Any:
        """A transaction on the database in effect: ``with djng.db.atomic():`` or a decorator."""
        scope = _AtomicInEffect(savepoint, durable)
        return scope if func is None else scope(func)

    def configure(self, backend: Any) -> None:
        super().configure(backend)
        _mirror_default(self._default)

    def _build_default(self) -> Database:
        database = super()._build_default()
        _mirror_default(database)
        return database

    def create_tables(self, *models: Any, database: Database | None = None) -> list:
        """Create the missing tables of every model (or of ``models``): :func:`create_tables`."""
        return create_tables(*models, database=database)


def create_tables(*models: Any, database: Database | None = None) -> list[type]:
    """Create the missing tables of ``models`` (default: every installed model).

    Runs on ``database`` or the database in effect (``djng.db.current()``), like
    ``migrate --run-syncdb`` for apps without migrations: existing tables are
    left alone, never altered. With no ``models`` given, Django's post-migrate
    step also runs (content types and permissions). Returns the models whose
    tables were created. For a database that lives on, prefer migrations.
    """
    registry.setup()
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal

    alias = (database if database is not None else db.current()).alias
    connection = connections[alias]
    if models:
        candidates = list(models)
    else:
        candidates = [
            model
            for config in apps.get_app_configs()
            if config.models_module is not None
            for model in config.get_models()
        ]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    convert = connection.introspection.identifier_converter
    created = []
    with connection.schema_editor() as editor:
        for model in candidates:
            opts = model._meta  # noqa: SLF001 - Django's documented Model._meta API
            if convert(opts.db_table) in tables or not opts.can_migrate(connection):
                continue
            if opts.swapped or opts.proxy:
                continue
            editor.create_model(model)
            tables.add(convert(opts.db_table))
            created.append(model)
    if created and not models:
        emit_post_migrate_signal(0, False, alias)
    return created


def check() -> None:
    """Health: open (or reuse) a connection to the database in effect and run ``SELECT 1``."""
    with db.current().connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


db = DbService(
    "db",
    expects="a database such as djng.db.SQLite(path) or djng.db.Database(url)",
    coerce=_coerce,
    default=_default,
    from_text=from_url,
    environ=("DJNG_DATABASE_URL", "DATABASE_URL"),
    django_settings={"DATABASE_ROUTERS": ["djng.services.db.ContextRouter"]},
    health_check=check,
)


class ContextRouter:
    """The database router Django is given: the ORM uses the database in effect."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return db.current().alias

    db_for_write = db_for_read
