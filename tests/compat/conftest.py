"""The Django packages people ask about first, each proven in a fresh interpreter.

Installing apps changes Django's app registry for the rest of a process, so each
check runs the example (or app) it needs in an interpreter of its own. The
packages come from the ``compat`` extra (``pip install -e '.[test,compat]'``,
the README's test command); a check whose package is missing is skipped, or
fails under ``DJNG_REQUIRE_SERVICES=1`` (as in CI), where skipping would hide it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, child_env, require

TIMEOUT = 120
#: The examples' module-level djng.wsgi(app) is a production start: it needs a key.
SECRET_KEY = "compat-tests-" + "k" * 40

LOAD_EXAMPLE = """
import importlib.util, sys
def load(name):
    spec = importlib.util.spec_from_file_location(name, f"examples/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
import djng
from djng.testing import Client
"""


@pytest.fixture
def check(tmp_path):
    """``check(*scripts, needs=(...), before_djng="")``: run the scripts, one after the
    other, in a fresh interpreter (each is dedented on its own); they assert.
    ``before_djng`` runs before ``import djng``. The code is run from a file, so
    that a failing assertion shows its line."""

    def run(*scripts: str, needs: tuple[str, ...] = (), before_djng: str = "") -> str:
        require(*needs)
        script = tmp_path / "check.py"
        code = [before_djng, LOAD_EXAMPLE, *scripts]
        script.write_text("".join(textwrap.dedent(part) for part in code))
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            env=child_env(DJNG_SECRET_KEY=SECRET_KEY),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return result.stdout

    return run
