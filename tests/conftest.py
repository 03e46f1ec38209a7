"""Shared helpers: free ports, subprocesses that are always killed, example loading."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from djng import _django, housekeeping, location, test_client, testing
from djng.services import SERVICES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: Upper bound for anything a subprocess test waits for (start-up, exit).
TIMEOUT = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_example(name: str):
    """Import ``examples/<name>.py`` by path (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"djng_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def require(*packages: str, extra: str = "test,compat") -> None:
    """Skip the test unless these packages are installed; fail instead under
    ``DJNG_REQUIRE_SERVICES=1`` (as in CI), where a skip would hide a missing install."""
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
    reason = f"{', '.join(missing)} not installed (pip install -e '.[{extra}]')"
    if os.environ.get("DJNG_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and DJNG_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(reason)


def require_program(binary: str, how: str) -> str:
    """The path of the program ``binary``: a skip without it, or a failure under
    ``DJNG_REQUIRE_SERVICES=1``; ``how`` says how to install it."""
    found = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}")
                                     else None)
    if found:
        return found
    reason = f"{binary} is not installed ({how})"
    if os.environ.get("DJNG_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and DJNG_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(reason)


def server_url(variable: str, what: str, example: str) -> str:
    """The URL of a real server the test needs, from ``variable``: a skip without it,
    or a failure under ``DJNG_REQUIRE_SERVICES=1`` (as in CI)."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = f"{variable} is not set: no {what} server to test against (e.g. {example})"
    if os.environ.get("DJNG_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and DJNG_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(reason)


def run_python(code: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter without DJANGO_SETTINGS_MODULE."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def gunicorn_command(port, target, chdir=None, pythonpath=None):
    """The command line that serves ``target`` (``module:app``) with one gunicorn worker."""
    sibling = Path(sys.executable).parent / "gunicorn"
    command = [str(sibling)] if sibling.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "1"]
    if chdir is not None:
        command += ["--chdir", str(chdir)]
    if pythonpath is not None:
        command += ["--pythonpath", str(pythonpath)]
    return [*command, target]


def http_get(url: str, headers: dict | None = None, timeout: float = 5):
    """(status, headers, body) for a GET over a real socket; HTTP errors are returned too."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = TIMEOUT):
    """Poll ``url`` until it answers; fail early with the output if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"server exited with {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}")
        try:
            return http_get(url, timeout=2)
        except OSError as exc:
            last_error = exc
            time.sleep(0.05)
    pytest.fail(f"{url} did not answer within {timeout}s: {last_error!r}")


def wait_for_file(path: Path, timeout: float = TIMEOUT) -> None:
    """Poll until ``path`` exists (a marker a server process writes); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} did not appear within {timeout}s")
        time.sleep(0.01)


def stop(proc: subprocess.Popen) -> None:
    """Kill ``proc`` (and its process group) if it still runs, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=TIMEOUT)


def start(args: list[str], **kwargs) -> subprocess.Popen:
    """Start a server process in its own process group (so stop() kills its workers too)."""
    return subprocess.Popen(
        args,
        cwd=kwargs.pop("cwd", ROOT),
        env=kwargs.pop("env", child_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


@pytest.fixture
def spawn():
    """``spawn(args)`` starts a server subprocess that is killed when the test ends."""
    procs: list[subprocess.Popen] = []

    def _spawn(args: list[str], **kwargs) -> subprocess.Popen:
        proc = start(args, **kwargs)
        procs.append(proc)
        return proc

    yield _spawn
    for proc in procs:
        stop(proc)


@pytest.fixture
def database():
    """A fresh SQLite(':memory:') with every table, in effect for the test (and its requests)."""
    import djng

    database = djng.db.SQLite(":memory:")
    with djng.db.use(database):
        djng.db.create_tables()
        yield database
    connections[database.alias].close()


@pytest.fixture
def debug_on():
    """Turn djng.debug on for one test, and forget it afterwards."""
    import djng

    djng.debug.configure(True)
    try:
        yield
    finally:
        djng.debug.reset()


@pytest.fixture(autouse=True)
def restore_service_defaults(monkeypatch):
    """Snapshot each service's configured default and put it back after the test.

    Tests (and the examples they load) may call ``S.configure()`` and
    ``S.reset()`` freely. Django's 'default'
    database alias (which mirrors ``djng.db``'s default) is restored too. No test
    finds a folder of its own for the embedded defaults unless it sets one, so
    ``djng.wsgi()`` does not note the folder of the test module that defines the
    app (``tests/test_location.py`` checks that it does, outside this fixture).
    """
    for name in ("DJNG_APP_DIR", "DJNG_DATABASE_URL", "DATABASE_URL", "DJNG_CACHE_URL",
                 "DJNG_EMAIL_URL", "DJNG_ALLOWED_HOSTS", "DJNG_TRUSTED_PROXY_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    saved = {name: svc._default for name, svc in SERVICES.items()}
    saved_default_db = dict(connections.settings[DEFAULT_DB_ALIAS])
    _forget_default_connection()
    location.forget()
    monkeypatch.setattr(location, "remember", lambda app: None)
    try:
        yield
    finally:
        for name, svc in SERVICES.items():
            with svc._lock:
                svc._default = saved[name]
        _forget_default_connection()
        default = connections.settings[DEFAULT_DB_ALIAS]
        default.clear()
        default.update(saved_default_db)


def _forget_default_connection() -> None:
    """Close and drop this thread's wrapper for Django's 'default' alias, if it has one."""
    _django.forget_connection(DEFAULT_DB_ALIAS)


# -- the behavioural suites under both adapters -------------------------------------------

#: The suites that run twice: through djng.wsgi (djng.testing.Client) and through
#: djng.asgi (the same sync API over djng.testing.AsyncClient). Not test_models:
#: its tests define models (the process's, once) rather than serve them.
BOTH_ADAPTERS = {
    "test_router", "test_middleware", "test_isolation", "test_mounting", "test_reconfigure",
    "test_use_cases", "test_responses", "test_hosts", "test_stack", "test_cache", "test_db",
    "test_storage", "test_templates", "test_mail", "test_debug_errors", "test_sessions_auth",
    "test_csrf", "test_static", "test_forms_templates", "test_admin",
    "test_notes_example", "test_async", "test_async_example", "test_shop_example",
    "test_typed", "test_openapi",
}


_WSGI_CLIENT = testing.Client


class ClientOverASGI(testing.Client):
    """``djng.testing.Client``'s sync API, each request sent through ``djng.asgi``."""

    _threads = None
    _handler = testing.AsyncClient._handler

    def _send(self, *request):
        return asyncio.run(testing.AsyncClient._send(self, *request))

    def __exit__(self, *exc_info):
        super().__exit__(*exc_info)
        self.handler.pool.close(housekeeping.close_connections)


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_ADAPTERS:
        metafunc.parametrize("adapter", ["wsgi", "asgi"], indirect=True)


@pytest.fixture(autouse=True)
def adapter(request, monkeypatch):
    """Which adapter ``djng.testing.Client`` drives in this test: 'wsgi' or 'asgi'."""
    name = getattr(request, "param", "wsgi")
    if name == "asgi":
        monkeypatch.setattr(testing, "Client", ClientOverASGI)
        monkeypatch.setattr(test_client, "Client", ClientOverASGI)  # InProcess, Cluster
        if getattr(request.module, "Client", None) is _WSGI_CLIENT:
            monkeypatch.setattr(request.module, "Client", ClientOverASGI)
    return name
