"""``python app.py makemigrations | migrate | createsuperuser | ...``: Django's commands.

``djng.serve(app)`` looks at the command line of the script it runs in: with no
argument (or one of the script's own, such as a port number or an option) it
serves; with the name of a Django management command it runs that command
instead, for the app's models and on the app's database (the ``djng.db`` in
effect), and returns. A word close to a command's name (``migrat``) exits with
an error naming the closest command and listing them; ``python app.py help``
lists them and ``--help``/``-h`` alone shows the usage. The same works from code:
``djng.commands.call('migrate')``. While it runs, ``import app`` gives the
running script itself, not a second copy of its models.

djng adjusts a few commands to single-file apps:

- ``migrate`` also creates the tables of apps that have no migrations yet
  (``--run-syncdb``) and accepts tables that already exist for initial
  migrations (``--fake-initial``), so an app can start without migrations
  and adopt them later;
- ``makemigrations`` writes ``migrations/<app>/`` next to the app's module;
- ``createsuperuser`` and ``changepassword`` first bring the database up to date.

When serving in development, :func:`prepare_database` applies pending migrations
and creates missing tables before the first request (``serve(migrate=True)``).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _django, location, registry

__all__ = ["call", "need_tables", "prepare_database", "run_from_argv"]

#: Django commands that make no sense for a djng app (djng serves, tests and starts apps itself).
UNAVAILABLE = frozenset({"runserver", "startapp", "startproject", "test", "testserver"})

#: Commands that need the database up to date first.
_PREPARE_FIRST = frozenset({"createsuperuser", "changepassword"})

#: Commands of the apps behind djng's batteries, which they install.
_BATTERY_COMMANDS = frozenset(
    {"createsuperuser", "changepassword", "clearsessions", "remove_stale_contenttypes"}
)

#: Installed apps whose tables the app uses (beyond its own models): djng.auth, admin, ...
_tables_needed: set[str] = set()


def need_tables(*labels: str) -> None:
    """Note that the app uses the tables of these installed apps (for ``serve(migrate=True)``)."""
    _tables_needed.update(labels)


def uses_database() -> bool:
    """True if the app defines models or uses a battery that keeps tables (auth, admin, ...)."""
    if _tables_needed:
        return True
    models = sys.modules.get("djng.models")
    return models is not None and bool(models.app_configs())


# -- the command line ---------------------------------------------------------------------


def run_from_argv(argv: Sequence[str] | None = None) -> bool:
    """Run the management command named on the script's command line; False if there is none.

    Only the command line of the script itself counts (``python app.py migrate``),
    not that of a test runner or a server that imported the app.
    """
    argv = list(sys.argv if argv is None else argv)
    if not argv or not _is_script(argv[0]):
        return False
    _importable_as_itself(argv[0])
    if len(argv) < 2:
        return False
    name = argv[1]
    if name in ("-h", "--help") and len(argv) == 2:
        print(_help_text(os.path.basename(argv[0])))
        return True
    if not _COMMAND_NAME.fullmatch(name):
        return False  # the script's own arguments (a port, a path, --options) are its own
    known = name == "help" or name in UNAVAILABLE or name in available()
    if not known and not difflib.get_close_matches(name, available(), n=1):
        return False  # a word of the script's own (python app.py production)
    if name in _BATTERY_COMMANDS:
        registry.install_batteries()  # e.g. createsuperuser for an app that has no auth layer yet
    main(argv)
    return True


#: What a command's name looks like; other first arguments are left to the script.
_COMMAND_NAME = re.compile(r"[A-Za-z][\w-]*")


def _importable_as_itself(program: str) -> None:
    """Let ``import app`` give the running script (``__main__``), not a second copy of it.

    Otherwise ``python app.py shell -c "from app import Item"`` (or a module the
    app imports that imports it back) would define its models a second time.
    """
    name = Path(program).stem
    if name.isidentifier() and name not in sys.modules:
        sys.modules[name] = sys.modules["__main__"]


def _is_script(program: str) -> bool:
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if not main_file or location.is_installed_code(main_file):
        return False
    return os.path.realpath(program) == os.path.realpath(main_file)


def available() -> list[str]:
    """The names of the management commands a djng app can run."""
    registry.setup()
    from django.core.management import get_commands

    return sorted(set(get_commands()) - UNAVAILABLE)


def main(argv: Sequence[str]) -> None:
    """``argv`` is ``[program, command, *arguments]``, as on a command line."""
    program, name, *args = argv
    prog = os.path.basename(program)
    if name == "help":
        if args and args[0] in available():
            _command(args[0]).print_help(prog, args[0])
        else:
            print(_help_text(prog))
        return
    if name in UNAVAILABLE:
        raise SystemExit(
            f"{prog} {name}: not available in a djng app; `python {prog}` serves it "
            "(djng.serve) and its tests use djng.testing.Client."
        )
    if name not in available():
        close = difflib.get_close_matches(name, available(), n=1)
        suggestion = f" Did you mean `python {prog} {close[0]}`?" if close else ""
        raise SystemExit(
            f"{prog}: unknown command {name!r}.{suggestion} The commands: "
            f"{', '.join(available())}. `python {prog}` alone serves the app; "
            f"`python {prog} help` describes the commands."
        )
    from django.core.management import CommandError

    try:
        command = _command(name)
        args = _adjust(name, command, prog, args)
    except CommandError as exc:
        raise SystemExit(f"{prog} {name}: {exc}") from None
    with _migration_packages(name):
        command.run_from_argv([prog, name, *args])


def call(name: str, *args: str, **options: Any) -> Any:
    """Run a management command from code (``call_command``), on the database in effect."""
    from django.core.management import call_command

    if name in UNAVAILABLE:
        raise ValueError(f"{name} is not available in a djng app")
    command = _command(name)
    alias = _alias()
    dests = _django.command_options(command, "djng", name)
    if "database" in dests and "database" not in options:
        options["database"] = alias
    if name == "migrate" and not args and "app_label" not in options:
        options.setdefault("run_syncdb", True)
    if name == "migrate":
        options.setdefault("fake_initial", True)
    if name in _PREPARE_FIRST:
        prepare_database(quiet=True, always=True)
    with _migration_packages(name):
        return call_command(command, *args, **options)


def _command(name: str) -> Any:
    if name in _BATTERY_COMMANDS:
        registry.install_batteries()
    registry.setup()
    from django.core.management import CommandError, get_commands, load_command_class

    commands = get_commands()
    if name not in commands or name in UNAVAILABLE:
        raise CommandError(f"Unknown command {name!r}; the commands are: {', '.join(available())}")
    return load_command_class(commands[name], name)


def _adjust(name: str, command: Any, prog: str, args: list[str]) -> list[str]:
    """The arguments with djng's defaults: the database in effect, syncdb for migrate."""
    alias = _alias()  # registered before the parser lists the databases it accepts
    parser = command.create_parser(prog, name)
    dests = _django.command_options(command, prog, name)
    given = {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}
    if name in _PREPARE_FIRST:
        prepare_database(quiet=True, always=True)
    if "database" in dests and "--database" not in given:
        args = [*args, "--database", alias]
    if name == "migrate":
        known, _ = parser.parse_known_args(args)
        if not known.app_label and not known.run_syncdb:
            args.append("--run-syncdb")
        if not known.fake and not known.fake_initial:
            args.append("--fake-initial")
    return args


def _alias() -> str:
    from .services.db import db

    return db.current().alias


def _help_text(prog: str) -> str:
    return "\n".join(
        [
            f"Usage: python {prog}                       serve the app (djng.serve)",
            f"       python {prog} <command> [options]   run one of Django's commands",
            f"       python {prog} help [<command>]      list them, or describe one",
            "",
            "The commands (Django's):",
            *(f"    {name}" for name in available()),
            "",
            "They run on the app's database; migrations are kept in migrations/<app>/ "
            "next to the app.",
        ]
    )


class _migration_packages:  # noqa: N801 - used as a context manager
    """For ``makemigrations``: a package for each djng app's migrations while it runs.

    Django writes an initial migration only for an app whose migrations package
    exists; the packages that got no migration are removed again afterwards.
    """

    def __init__(self, name: str) -> None:
        self.active = name == "makemigrations"
        self.created: list[tuple[Path, bool]] = []

    def __enter__(self) -> _migration_packages:
        if not self.active or "djng.models" not in sys.modules:
            return self
        from .models import app_configs, migrations_dir

        for config in app_configs():
            folder = migrations_dir(config.label)
            if folder is None or folder.exists():
                continue
            new_parent = not folder.parent.exists()
            folder.mkdir(parents=True)
            (folder / "__init__.py").touch()
            self.created.append((folder, new_parent))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for folder, new_parent in self.created:
            if {p.name for p in folder.iterdir()} <= {"__init__.py", "__pycache__"}:
                shutil.rmtree(folder)
                if new_parent and not any(folder.parent.iterdir()):
                    folder.parent.rmdir()


# -- development: the database ready before the first request -------------------------------


def prepare_database(*, quiet: bool = False, always: bool = False) -> None:
    """Apply pending migrations and create missing tables on the database in effect.

    Does nothing for an app that uses no database. Prints one line when it
    changed something, and a warning when models have changes no migration has.
    """
    if not (always or uses_database()):
        return
    registry.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from .services.db import db

    database = db.current()
    connection = connections[database.alias]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        before = set(connection.introspection.table_names(cursor))
    call_command(
        "migrate",
        database=database.alias,
        run_syncdb=True,
        fake_initial=True,
        interactive=False,
        verbosity=0,
        skip_checks=True,
    )
    with connection.cursor() as cursor:
        created = set(connection.introspection.table_names(cursor)) - before
    if not quiet and (plan or created):
        print(
            f"djng: {database}: applied {len(plan)} migration(s), "
            f"{len(created)} new table(s)",
            file=sys.stderr,
        )
    _warn_unmigrated_changes(executor)


def _warn_unmigrated_changes(executor: Any) -> None:
    """Say so when a djng app with migrations has model changes that none of them has."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.state import ProjectState

    from .models import app_configs

    labels = {config.label for config in app_configs()} & executor.loader.migrated_apps
    if not labels:
        return
    changes = MigrationAutodetector(
        executor.loader.project_state(), ProjectState.from_apps(apps)
    ).changes(graph=executor.loader.graph)
    pending = sorted(labels & set(changes))
    if pending:
        prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "app.py"
        print(
            f"djng: the models of {', '.join(pending)} have changes that no migration has: "
            f"run `python {prog} makemigrations`, then restart.",
            file=sys.stderr,
        )
