"""The documentation runs as written: every Python block of the README (and of docs/).

pytest-markdown-docs collects the blocks; each runs in a fresh interpreter, as
the ``app.py`` a reader would paste it into (one block installing apps must not
see another's first request). A block that continues the one before it says
``python continuation``; a fragment shown whole elsewhere says ``python notest``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, child_env, require

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def _run_pytest(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--markdown-docs", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _blocks() -> list[str]:
    try:
        import pytest_markdown_docs  # noqa: F401
    except ImportError:
        return []
    listed = _run_pytest("--collect-only", "-q", *map(str, DOCUMENTS)).stdout.splitlines()
    return [line for line in listed if "::" in line]


BLOCKS = _blocks()


def test_the_blocks_are_collected():
    require("pytest_markdown_docs", extra="test")
    assert any(block.startswith("README.md::") for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS)
def test_block_runs_as_written(block, tmp_path):
    result = _run_pytest(str(ROOT / block.split("::")[0]) + "::" + block.split("::", 1)[1],
                         cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
