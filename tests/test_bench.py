"""The benchmark harness keeps working: a tiny run prints every row (no timings asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_run_prints_the_table_and_saves_it(tmp_path):
    output = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "djng,django", "--quick",
         "--output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "| work item | djng | Django handler |" in table
    for item in ("hello", "json", "routes100", "post_json", "hello_push", "mounted3", "mounted5",
                 "notfound", "routes1000", "routes1000_miss", "hello_orm", "orm_get"):
        assert f"(`{item}`)" in table
    for figure in ("`djng.cache.current()`", "import time", "resident memory", "## Targets"):
        assert figure in table
    saved = output.read_text()
    assert saved.startswith("# djng benchmark results")
    assert "Command: `python -m bench --only djng,django --quick" in saved
    assert "| plain-text hello (`hello`) |" in saved
