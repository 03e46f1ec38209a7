"""The documentation site builds: ``mkdocs build --strict``, with the API reference
that mkdocstrings generates from djng's docstrings.

Strict mode turns every warning into a failure: a broken link or anchor, a page
missing from the nav, a docstring griffe cannot parse (a ``:param:`` naming no
parameter) or an object a ``:::`` directive cannot find. The packages come from
the ``test`` extra; without them the test is skipped, or fails under
``DJNG_REQUIRE_SERVICES=1`` (as in CI), where skipping would hide it.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, child_env, require

PACKAGES = ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python")


def test_the_site_builds_without_warnings(tmp_path):
    require(*PACKAGES, extra="test")
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
