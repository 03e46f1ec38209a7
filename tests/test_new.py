"""``djng new NAME`` (djng/new.py): a project that serves and whose tests pass as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TIMEOUT, child_env, free_port, http_get, wait_for_http

from djng import new
from djng.services.secrets import KEY_FILE


def djng_command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m djng.new ARGS`` (what the ``djng`` console script runs) in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "djng.new", *args],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )


@pytest.fixture
def blog(tmp_path) -> Path:
    result = djng_command("new", "blog", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cd blog" in result.stdout
    assert "python app.py" in result.stdout
    assert "pytest" in result.stdout
    return tmp_path / "blog"


def test_new_writes_the_app_its_tests_and_a_gitignore(blog):
    names = sorted(path.name for path in blog.iterdir())
    assert names == [".gitignore", "app.py", "pytest.ini", "test_app.py"]
    ignored = (blog / ".gitignore").read_text().splitlines()
    for entry in (KEY_FILE, "db.sqlite3", "media/", "__pycache__/", ".venv/"):
        assert entry in ignored
    compile((blog / "app.py").read_text(), "app.py", "exec")
    assert "djng.serve(app" in (blog / "app.py").read_text()
    assert "from djng.testing import Client" in (blog / "test_app.py").read_text()


def test_the_generated_tests_pass_with_plain_pytest(blog):
    sibling = Path(sys.executable).parent / "pytest"
    command = [str(sibling)] if sibling.exists() else [sys.executable, "-m", "pytest"]
    result = subprocess.run(
        [*command, "-q", "-p", "no:cacheprovider"],
        cwd=blog, env=child_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_python_app_py_serves_the_app(blog, spawn):
    port = free_port()
    proc = spawn([sys.executable, "app.py"], cwd=blog, env=child_env(PORT=str(port)))
    status, _, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)
    assert status == 200
    assert b"<h1>blog</h1>" in body
    status, headers, body = http_get(f"http://127.0.0.1:{port}/api/hello/web")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"message": "Hello, web!"}


def test_python_app_py_runs_management_commands(blog):
    result = subprocess.run(
        [sys.executable, "app.py", "help"],
        cwd=blog, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout


# -- the command line -----------------------------------------------------------------


def test_an_existing_empty_folder_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site").mkdir()
    assert new.main(["new", "site"]) == 0
    assert (tmp_path / "site" / "app.py").is_file()


def test_an_existing_folder_with_files_is_refused(tmp_path, capsys):
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "notes.txt").write_text("mine")
    result = djng_command("new", "blog", cwd=tmp_path)
    assert result.returncode == 2
    assert "already exists and is not an empty folder" in result.stderr
    assert sorted(p.name for p in (tmp_path / "blog").iterdir()) == ["notes.txt"]


def test_an_existing_file_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blog").write_text("a file")
    assert new.main(["new", "blog"]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["a/b", "../up", ".hidden", "-x", "", "my blog", "é"])
def test_a_bad_name_is_refused(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert new.main(["new", name]) == 2
    assert "not a valid folder name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["new"], ["new", "a", "b"]])
def test_new_takes_exactly_one_name(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert new.main(args) == 2
    assert "usage: djng new NAME" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_command_exits_2_naming_the_valid_ones(tmp_path):
    result = djng_command("start", "blog", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown command 'start'" in result.stderr
    assert "valid commands: new" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"], ["help"], ["new", "--help"]])
def test_no_arguments_or_help_print_the_usage(args, capsys):
    assert new.main(args) == 0
    assert capsys.readouterr().out.startswith("usage: djng new NAME")
