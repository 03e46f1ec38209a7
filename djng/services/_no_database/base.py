"""Django's dummy database backend, with an error message that names djng's configuration."""

from __future__ import annotations

from typing import Any, NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.dummy import base as dummy

MESSAGE = (
    "django.db.connection is djng.db's default database, which djng sets up when djng.db "
    "is first used, and has not yet. Call djng.db.current() first: it sets it up from "
    "djng.db.configure(...) if the app called it, else from the DJNG_DATABASE_URL "
    "environment variable, else as db.sqlite3 next to the app. djng.db.current().connection "
    "is the connection of the database in effect."
)


def complain(*args: Any, **kwargs: Any) -> NoReturn:
    raise ImproperlyConfigured(MESSAGE)


class DatabaseOperations(dummy.DatabaseOperations):
    quote_name = complain


class DatabaseClient(dummy.DatabaseClient):
    runshell = complain


class DatabaseIntrospection(dummy.DatabaseIntrospection):
    get_table_list = get_table_description = get_relations = get_indexes = complain


class DatabaseWrapper(dummy.DatabaseWrapper):
    _cursor = ensure_connection = _commit = _savepoint_commit = _set_autocommit = complain
    client_class = DatabaseClient
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations
