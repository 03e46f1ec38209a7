"""``python app.py <command>``: Django's management commands for a single-file app."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from conftest import TIMEOUT, child_env
from django.db import connections

import djng
from djng import commands, models

APP = """
import djng
from djng import models


class Item(djng.Model):
    name = models.CharField(max_length=20)
{extra}

app = djng.Router(djng.path("", lambda request: str(Item.objects.count())))

if __name__ == "__main__":
    djng.serve(app, port={port})
"""


class Thing(djng.Model):
    label = models.CharField(max_length=10)


@pytest.fixture
def busy_port():
    """A port that is taken: if a command wrongly served, it would stop at once, saying so."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def project(tmp_path, busy_port):
    def write(extra: str = "") -> None:
        source = APP.format(extra=textwrap.indent(extra, "    "), port=busy_port)
        (tmp_path / "app.py").write_text(source)

    write()
    project = type("Project", (), {})()
    project.dir = tmp_path
    project.write = write

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        environ = child_env(**env)
        environ.pop("DJNG_APP_DIR", None)
        result = subprocess.run(
            [sys.executable, str(tmp_path / "app.py"), *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert "cannot listen" not in result.stderr, "the command served instead"
        return result

    project.run = run
    return project


def tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("select name from sqlite_master where type='table'")}


def columns(path, table: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[1] for r in db.execute(f"pragma table_info({table})")}


def test_help_lists_the_commands(capsys):
    commands.main(["app.py", "help"])
    listing = capsys.readouterr().out
    assert "Usage: python app.py  " in listing and "python app.py <command> [options]" in listing
    for name in ("migrate", "makemigrations", "createsuperuser", "showmigrations"):
        assert f"    {name}\n" in listing
    assert "runserver" not in listing
    commands.main(["app.py", "help", "migrate"])
    assert "usage: app.py migrate" in capsys.readouterr().out


def test_migrate_creates_the_database_without_migrations(project):
    result = project.run("migrate")
    assert result.returncode == 0, result.stderr
    assert "Synchronize unmigrated apps:" in result.stdout and "app" in result.stdout
    assert {"app_item", "auth_user", "django_session"} <= tables(project.dir / "db.sqlite3")


def test_makemigrations_then_migrate_then_a_schema_change(project):
    assert project.run("migrate", "-v", "0").returncode == 0  # tables first, no migrations
    result = project.run("makemigrations")
    assert result.returncode == 0, result.stderr
    folder = project.dir / "migrations" / "app"
    assert (folder / "__init__.py").exists()
    assert "migrations/app/0001_initial.py" in result.stdout
    result = project.run("migrate")
    assert "Applying app.0001_initial... FAKED" in result.stdout  # its table already existed

    project.write("size = models.IntegerField(default=0)")
    result = project.run("makemigrations")
    assert "migrations/app/0002_item_size.py" in result.stdout, result.stdout + result.stderr
    assert "size" not in columns(project.dir / "db.sqlite3", "app_item")
    result = project.run("migrate")
    assert "Applying app.0002_item_size... OK" in result.stdout
    assert "size" in columns(project.dir / "db.sqlite3", "app_item")
    shown = project.run("showmigrations", "app").stdout
    assert "[X] 0001_initial" in shown and "[X] 0002_item_size" in shown


def test_makemigrations_for_another_app_leaves_no_empty_folder(project):
    result = project.run("makemigrations", "auth")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout
    assert not (project.dir / "migrations").exists()


def test_an_imported_app_has_the_same_label_and_migrations(project):
    project.run("makemigrations")
    (project.dir / "check.py").write_text(
        "import app\nfrom djng import commands\ncommands.call('showmigrations', 'app')\n"
    )
    result = subprocess.run(
        [sys.executable, "check.py"],
        cwd=project.dir,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "app\n [ ] 0001_initial" in result.stdout


def test_createsuperuser_prepares_the_database_first(project):
    result = project.run(
        "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com",
        DJANGO_SUPERUSER_PASSWORD="a strong password",
    )
    assert result.returncode == 0, result.stderr
    assert "Superuser created successfully." in result.stdout
    with sqlite3.connect(project.dir / "db.sqlite3") as db:
        users = db.execute("select username, is_superuser from auth_user").fetchall()
    assert users == [("root", 1)]


def test_commands_that_make_no_sense_say_so(project):
    result = project.run("runserver")
    assert result.returncode == 1
    assert "app.py runserver: not available in a djng app; `python app.py` serves it" in (
        result.stderr
    )
    for name in ("startapp", "test", "startproject"):
        with pytest.raises(SystemExit, match=f"app.py {name}: not available"):
            commands.main(["app.py", name])
        with pytest.raises(ValueError, match="not available"):
            commands.call(name)


def test_an_unknown_command_exits_naming_the_commands(project):
    result = project.run("migrat")
    assert result.returncode == 1
    assert "app.py: unknown command 'migrat'. Did you mean `python app.py migrate`?" in (
        result.stderr
    )
    assert "makemigrations, migrate," in result.stderr
    assert not (project.dir / "db.sqlite3").exists()


@pytest.mark.parametrize("argv", [["production"], ["8080"], ["--port", "8080"], ["-h", "0.0.0.0"]])
def test_the_scripts_own_arguments_are_left_to_it(monkeypatch, argv):
    """Words far from any command, numbers and options: the script serves."""
    monkeypatch.setattr(commands, "_is_script", lambda program: True)
    monkeypatch.setattr(commands, "_importable_as_itself", lambda program: None)
    assert commands.run_from_argv(["app.py", *argv]) is False


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_options_show_djngs_usage(project, option):
    result = project.run(option)
    assert result.returncode == 0, result.stderr
    assert "Usage: python app.py  " in result.stdout
    assert "serve the app" in result.stdout and "    migrate\n" in result.stdout


def test_help_lists_the_commands_from_the_command_line(project):
    result = project.run("help")
    assert result.returncode == 0, result.stderr
    assert "    makemigrations\n" in result.stdout


def test_the_script_is_importable_under_its_own_name(project):
    code = "import app, __main__; print(app is __main__, app.Item is __main__.Item)"
    result = project.run("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True True")


def test_a_failing_command_exits_with_its_error(capsys):
    with djng.db.use(djng.db.SQLite(":memory:")), pytest.raises(SystemExit) as exit_info:
        commands.main(["app.py", "migrate", "nosuchapp"])
    assert exit_info.value.code == 1
    assert "No installed app with label 'nosuchapp'" in capsys.readouterr().err


def test_serving_warns_about_changes_without_a_migration(project):
    project.run("makemigrations")
    project.write("size = models.IntegerField(default=0)")
    (project.dir / "prepare.py").write_text(
        "import app\nfrom djng import commands\ncommands.prepare_database()\n"
    )
    result = subprocess.run(
        [sys.executable, "prepare.py"],
        cwd=project.dir,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "applied 19 migration(s)" in result.stderr
    assert "the models of app have changes that no migration has" in result.stderr
    assert "makemigrations" in result.stderr


def test_commands_from_code_run_on_the_database_in_effect():
    database = djng.db.SQLite(":memory:")
    with djng.db.use(database):
        commands.call("migrate", verbosity=0)
        assert Thing.objects.count() == 0  # its table was made (run_syncdb)
    names = connections[database.alias].introspection.table_names()
    assert {"test_commands_thing", "auth_user", "django_migrations"} <= set(names)


def test_only_the_scripts_own_command_line_counts(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["pytest", "migrate"])
    assert commands.run_from_argv() is False


def test_a_hello_world_app_uses_no_database(tmp_path):
    (tmp_path / "hello.py").write_text(
        "import djng\nfrom djng import commands\ncommands.prepare_database()\nprint('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "hello.py"], cwd=tmp_path, env=child_env(), capture_output=True,
        text=True, timeout=TIMEOUT,
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
