"""Where the app lives: ``djng.wsgi(app)`` notes the folder of the module that defines it.

(Under gunicorn, started from another folder: ``test_serve.py``.)
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

import djng
from djng import location
from djng.location import remember

MODULE = """
import djng

def view(request):
    return "hi"

router = djng.Router(djng.path("", view))
wrapped = djng.gzip(djng.reconfigure(router, cache=djng.cache.Dummy()))
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A module in a folder of its own, imported under a real name."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "located_site.py").write_text(textwrap.dedent(MODULE))
    spec = importlib.util.spec_from_file_location("located_site", folder / "located_site.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "located_site", module)
    spec.loader.exec_module(module)
    yield module, folder
    location.forget()


@pytest.mark.parametrize("attribute", ["view", "router", "wrapped"])
def test_the_folder_of_the_module_that_defines_the_app(site, attribute):
    module, folder = site
    assert location.app_dir() is None
    remember(getattr(module, attribute))
    assert location.app_dir() == folder.resolve()


def test_djngs_own_apps_and_installed_code_do_not_count(site):
    remember(djng.health())  # a view defined in djng/health.py
    remember(djng.Response)  # a class from an installed package
    remember(object())  # no module at all
    assert location.app_dir() is None


def test_the_first_app_served_wins_and_djng_app_dir_wins_over_all(site, tmp_path, monkeypatch):
    module, folder = site
    remember(module.router)
    remember(djng.Router())  # defined in this test module: a later app does not move it
    assert location.app_dir() == folder.resolve()
    monkeypatch.setenv("DJNG_APP_DIR", str(tmp_path))
    assert location.app_dir() == tmp_path.resolve()


def test_a_script_read_from_stdin_has_no_folder(tmp_path):
    """``python - < app.py`` runs in some folder, but the app does not live there."""
    import subprocess

    from conftest import child_env

    code = "from djng import location\nprint(location.app_dir())\n"
    result = subprocess.run([sys.executable, "-"], input=code, cwd=tmp_path, env=child_env(),
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "None", result.stderr
