"""``djng.db``: databases on a context-local stack.

Each :class:`Database` is registered as a Django connection alias when it is
created; a database router (:class:`ContextRouter`) sends the ORM's reads and
writes to the alias in effect, and ``djng.db.atomic()`` opens a transaction on
it. Django's ``'default'`` alias mirrors the process default, for code that uses
``django.db.connection`` directly. Connections are opened on first query only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from contextlib import ContextDecorator
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .. import conf
from .stack import Service
from .urls import database_from_url, from_environment, parse_database_url

__all__ = ["ContextRouter", "Database", "SQLite", "db", "parse_database_url"]

_aliases = itertools.count(1)
_register_lock = threading.Lock()

class Database:
    """A database, registered as a Django connection alias (``.alias``).

    ``settings`` is a database URL (``postgres://user@host:5432/name``,
    ``sqlite:///path/db.sqlite3``) or a dict in the shape of one
    ``DATABASES`` entry. Create databases once (at import time), not per request.
    """

    def __init__(
        self,
        settings: str | Mapping[str, Any],
        *,
        alias: str | None = None,
        conn_max_age: float | None = 0,
        conn_health_checks: bool = False,
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
        if options:
            config["OPTIONS"] = {**config.get("OPTIONS", {}), **options}
        self.settings = config
        self.alias = alias or f"djng_{next(_aliases)}"
        _register(self.alias, config)

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


def _register(alias: str, config: dict[str, Any]) -> None:
    """Add a connection alias without mutating a dict other threads may iterate."""
    from django.conf import settings

    with _register_lock:
        if alias in connections.settings:
            raise ValueError(f"djng.db: a database with alias {alias!r} already exists")
        full = connections.configure_settings({DEFAULT_DB_ALIAS: dict(config)})[DEFAULT_DB_ALIAS]
        databases = {**connections.settings, alias: full}
        connections.settings = databases
        settings.DATABASES = databases


def _mirror_default(database: Database) -> None:
    """Point Django's 'default' alias at the process default database.

    This thread's open 'default' connection (if any) is closed, so its next use
    reaches the new database; other threads' connections are theirs to close
    (they are at the end of their current request unless ``conn_max_age`` keeps them).
    """
    with _register_lock:
        default = connections.settings[DEFAULT_DB_ALIAS]
        if default == connections.settings[database.alias]:
            return
        if hasattr(connections._connections, DEFAULT_DB_ALIAS):
            connections[DEFAULT_DB_ALIAS].close()
            del connections[DEFAULT_DB_ALIAS]
        default.clear()
        default.update(connections.settings[database.alias])


def _default() -> Database:
    database = from_environment("db")
    if database is not None:
        return database
    folder = conf.app_dir()
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
    if isinstance(backend, str):
        return database_from_url(backend)
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
        """Create the missing tables of every model (or of ``models``) on the database in
        effect; existing tables are left alone. See ``djng.models.create_tables``."""
        from ..models import create_tables

        return create_tables(*models, database=database)


db = DbService(
    "db",
    expects="a database such as djng.db.SQLite(path) or djng.db.Database(url)",
    coerce=_coerce,
    default=_default,
)


class ContextRouter:
    """The database router Django is given: the ORM uses the database in effect."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return db.current().alias

    db_for_write = db_for_read
