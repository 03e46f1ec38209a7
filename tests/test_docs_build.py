"""The documentation site builds: ``mkdocs build --strict``, with the API reference
that mkdocstrings generates from djng's docstrings.

Strict mode turns every warning into a failure: a broken link or anchor, a page
missing from the nav, a docstring griffe cannot parse (a ``:param:`` naming no
parameter) or an object a ``:::`` directive cannot find. The packages come from
the ``test`` extra; without them the test is skipped, or fails under
``DJNG_REQUIRE_SERVICES=1`` (as in CI), where skipping would hide it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import ROOT, child_env

PACKAGES = ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python")


def require(*packages: str) -> None:
    """Skip the test unless these packages are installed (fail instead in CI)."""
    missing = []
    for name in packages:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            missing.append(name)
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (pip install -e '.[test]')"
    if os.environ.get("DJNG_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and DJNG_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(reason)


def test_the_site_builds_without_warnings(tmp_path):
    require(*PACKAGES)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]
    reference = tmp_path / "site" / "reference"
    # The reference was generated, not just the pages around it.
    assert "djng.router.Router" in (reference / "djng" / "index.html").read_text()
    assert "djng.testing.Client" in (reference / "testing" / "index.html").read_text()
