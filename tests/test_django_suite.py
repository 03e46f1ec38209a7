"""Django's own tests, run with djng's request class in place of Django's.

djng's ``Request`` builds a request without a body in half of Django's time
(``djng._django.init_plain_request``); it must be the same request. Django's
source distribution ships its test suite: this downloads it (once, into the
virtualenv) and runs the modules that build and read requests with djng's class
swapped in (``tests/django_suite/run_swapped.py``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import django
import pytest

HERE = Path(__file__).resolve().parent
CACHE = Path(sys.prefix) / "djng-django-source"
MODULES = [
    "requests_tests", "handlers", "test_client", "test_client_regress", "file_uploads",
    "httpwrappers", "csrf_tests", "sessions_tests", "middleware", "responses",
    "urlpatterns_reverse",
]
#: Failures that are not djng's, with why.
EXPECTED = {
    # The request's repr names its class, and djng's is called Request.
    "test_wsgirequest_repr (requests_tests.tests.RequestsTests.test_wsgirequest_repr)",
}
if hasattr(os, "geteuid") and os.geteuid() == 0:
    # Django checks that a read-only folder refuses uploads: root may write anywhere.
    EXPECTED.add(
        "test_readonly_root (file_uploads.tests.DirectoryCreationTests.test_readonly_root)"
    )


def django_source() -> Path:
    """The root of Django's source distribution for the installed version."""
    version = django.get_version()
    root = CACHE / f"django-{version}"
    if (root / "tests" / "runtests.py").is_file():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    download = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
         ":all:", f"django=={version}", "-d", str(CACHE)],
        capture_output=True, text=True, timeout=300,
    )
    archive = CACHE / f"django-{version}.tar.gz"
    if download.returncode != 0 or not archive.is_file():
        pytest.skip(f"Django {version}'s source distribution could not be downloaded: "
                    f"{download.stderr.strip()[-300:]}")
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return root


def test_djangos_request_tests_pass_with_djngs_request_class():
    root = django_source()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(HERE / "django_suite" / "run_swapped.py"), "--parallel", "1",
         *MODULES],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert "djng: Django's tests run with <class 'djng.request.Request'>" in output, output[-3000:]
    ran = re.search(r"^Ran (\d+) tests", output, re.M)
    assert ran and int(ran.group(1)) > 1000, output[-3000:]
    failed = set(re.findall(r"^(?:FAIL|ERROR): (.+)$", output, re.M))
    assert failed <= EXPECTED, "\n".join(sorted(failed - EXPECTED)) + "\n" + output[-5000:]
