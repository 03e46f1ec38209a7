"""The stack every service shares: configure, lazy defaults, push, use, errors.

Each test runs for every service (cache, mail, templates, db, storage, debug,
errors), through the public ``djng.<service>`` objects.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import djng
from djng.services import SERVICES
from djng.services.stack import _UNSET
from djng.testing import Client

#: Seconds a thread waits for another before giving up: a guard against hanging, not a
#: timing assertion.
WAIT = 30

NAMES = ["cache", "mail", "templates", "db", "storage", "debug", "errors"]

#: What the ``TypeError`` for a wrong backend says each service expects.
EXPECTS = {
    "cache": "Django cache backend",
    "mail": "mail backend",
    "templates": "template engine",
    "db": "database",
    "storage": "Django Storage",
    "debug": "True or False",
    "errors": "error reporter",
}


ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (no DJANGO_SETTINGS_MODULE, no DJNG_APP_DIR)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJNG_APP_DIR")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def backend_pair(name: str) -> tuple:
    """Two distinct backends for the service called ``name``."""
    makers = {
        "cache": lambda: djng.cache.LocMem(),
        "mail": lambda: djng.mail.Memory(),
        "templates": lambda: djng.templates.Django(strings={"t.html": "x"}),
        "db": lambda: djng.db.SQLite(":memory:"),
        "storage": lambda: djng.storage.Memory(),
        "errors": lambda: djng.errors.Log(),
    }
    if name == "debug":
        return True, False
    make = makers[name]
    return make(), make()


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


@pytest.fixture
def service(name):
    """The service, with a configured default (the first of a pair) to compare against."""
    svc = getattr(djng, name)
    assert svc is SERVICES[name]
    return svc


@pytest.fixture
def pair(name, service):
    """(default, other): ``default`` is configured as the process default."""
    default, other = backend_pair(name)
    service.configure(default)
    return default, other


def test_every_service_is_exposed_and_registered(name):
    assert SERVICES[name] is getattr(djng, name)
    assert SERVICES[name].name == name
    assert name in repr(SERVICES[name])


# -- configure ----------------------------------------------------------------------


def test_configure_sets_the_default_current_returns(service, pair):
    default, other = pair
    assert service.current() is default
    service.configure(other)
    assert service.current() is other


def test_configure_is_seen_by_other_threads_even_ones_already_running(service, pair):
    default, other = pair
    started, configured = threading.Event(), threading.Event()
    seen = {}

    def worker():
        seen["before"] = service.current()
        started.set()
        configured.wait(WAIT)
        seen["after"] = service.current()

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(WAIT)
    service.configure(other)
    configured.set()
    thread.join()
    assert seen == {"before": default, "after": other}

    fresh = {}
    thread = threading.Thread(target=lambda: fresh.setdefault("seen", service.current()))
    thread.start()
    thread.join()
    assert fresh["seen"] is other


def test_configure_is_seen_by_asyncio_tasks(service, pair):
    default, other = pair
    service.configure(other)

    async def current():
        return service.current()

    async def main():
        return await asyncio.gather(*(asyncio.create_task(current()) for _ in range(3)))

    assert all(seen is other for seen in asyncio.run(main()))


def test_reset_forgets_the_configured_default(service, pair, name):
    default, _ = pair
    service.reset()
    assert service._default is _UNSET
    if name == "db":  # the embedded database needs a folder of its own
        with pytest.raises(RuntimeError, match="djng.db"):
            service.current()
        return
    rebuilt = service.current()
    assert rebuilt is not default or name == "debug"
    assert service._default is rebuilt
    assert service.current() is rebuilt  # built once, then kept


# -- lazy embedded defaults ------------------------------------------------------------


def test_import_builds_no_default_backend_and_first_use_builds_only_its_own(tmp_path):
    code = """
import json
import djng
from djng.services import SERVICES
from djng.services.stack import _UNSET

def built():
    return sorted(name for name, svc in SERVICES.items() if svc._default is not _UNSET)

steps = {"import": built()}
djng.cache.set("k", "v")
steps["cache"] = built()
djng.mail.send_mail("s", "m", "from@example.com", ["to@example.com"])
steps["mail"] = built()
steps["outbox"] = len(djng.mail.outbox)
print(djng.templates.from_string("{{ x }}!").render({"x": "hi"}))
steps["templates"] = built()
print(json.dumps(steps))
"""
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    out_lines = result.stdout.splitlines()
    assert out_lines[0] == "hi!"
    steps = json.loads(out_lines[-1])
    assert steps == {
        "import": [],
        "cache": ["cache"],
        "mail": ["cache", "mail"],
        "outbox": 1,
        "templates": ["cache", "mail", "templates"],
    }


def test_reading_private_attributes_does_not_build_the_default(service):
    service.reset()
    assert not hasattr(service, "__wrapped__")
    assert not hasattr(service, "_something_private")
    assert service._default is _UNSET


def test_default_is_built_once_under_concurrent_first_use(service, name):
    if name == "db":
        pytest.skip("the embedded database needs an app folder (see test_db.py)")
    service.reset()
    barrier = threading.Barrier(8, timeout=WAIT)
    seen = []

    def first_use():
        barrier.wait()
        seen.append(service.current())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(backend is seen[0] for backend in seen)
    assert service._default is seen[0]


# -- push ---------------------------------------------------------------------------


def test_push_outside_a_request_says_to_use_use_or_configure(service, pair, name):
    _, other = pair
    with pytest.raises(RuntimeError) as info:
        service.push(other)
    message = str(info.value)
    assert f"djng.{name}.push()" in message
    assert f"djng.{name}.use(" in message
    assert f"djng.{name}.configure(" in message
    assert service.current() is pair[0]


def test_push_lasts_until_the_request_ends(service, pair):
    default, other = pair
    seen = []

    def view(request):
        seen.append(service.current())
        if request.GET.get("push"):
            service.push(other)
            seen.append(service.current())
        return "ok"

    client = Client(view)
    assert client.get("/", {"push": "1"}).status_code == 200
    assert client.get("/").status_code == 200
    assert seen == [default, other, default]
    assert service.current() is default


def test_push_is_undone_when_the_view_raises(service, pair):
    default, other = pair
    seen = []

    def view(request):
        seen.append(service.current())
        if request.GET.get("push"):
            service.push(other)
            raise ValueError("after push")
        return "ok"

    client = Client(view, raise_exceptions=False)
    assert client.get("/", {"push": "1"}).status_code == 500
    assert client.get("/").status_code == 200
    assert seen == [default, default]
    with pytest.raises(ValueError, match="after push"):
        Client(view).get("/", {"push": "1"})
    assert service.current() is default


def test_push_of_a_non_backend_raises_type_error_naming_the_service(service, name):
    def view(request):
        service.push(object())
        return "unreachable"

    with pytest.raises(TypeError) as info:
        Client(view).get("/")
    assert f"djng.{name} expects" in str(info.value)
    assert EXPECTS[name] in str(info.value)


# -- use ----------------------------------------------------------------------------


def test_use_restores_on_exit_and_on_exception(service, pair):
    default, other = pair
    with service.use(other) as scope:
        assert service.current() is other
        assert isinstance(scope, djng.services.Use)
    assert service.current() is default
    with pytest.raises(KeyError):
        with service.use(other):
            assert service.current() is other
            raise KeyError("inside")
    assert service.current() is default


def test_nested_uses_stack_and_unwind(service, pair, name):
    default, other = pair
    third = backend_pair(name)[0] if name != "debug" else default
    with service.use(other):
        with service.use(third):
            assert service.current() is third
            with service.use(other):
                assert service.current() is other
            assert service.current() is third
        assert service.current() is other
    assert service.current() is default


def test_the_same_use_object_can_be_nested_in_itself(service, pair):
    default, other = pair
    scope = service.use(other)
    with scope:
        with scope:
            assert service.current() is other
        assert service.current() is other
    assert service.current() is default


def test_use_wins_over_configure_and_configure_inside_use_shows_after(service, pair, name):
    default, other = pair
    later = backend_pair(name)[1] if name != "debug" else default
    with service.use(other):
        service.configure(later)
        assert service.current() is other
    assert service.current() is later


def test_use_is_a_decorator_for_functions(service, pair):
    default, other = pair
    scope = service.use(other)

    @scope
    def current(x, *, y):
        return service.current(), x, y

    assert current(1, y=2) == (other, 1, 2)
    assert service.current() is default

    @scope
    def fails():
        raise LookupError

    with pytest.raises(LookupError):
        fails()
    assert service.current() is default


def test_use_is_a_decorator_for_async_functions(service, pair):
    default, other = pair

    @service.use(other)
    async def current():
        await asyncio.sleep(0)
        return service.current()

    async def main():
        inside = await current()
        return inside, service.current()

    assert asyncio.iscoroutinefunction(current)
    assert asyncio.run(main()) == (other, default)


def test_use_decorates_a_view(service, pair):
    default, other = pair
    seen = []

    @service.use(other)
    def view(request):
        seen.append(service.current())
        return "ok"

    client = Client(view)
    client.get("/")
    client.get("/")
    assert seen == [other, other]
    assert service.current() is default


def test_use_around_a_client_request_reaches_the_view(service, pair):
    default, other = pair
    seen = []

    def view(request):
        seen.append(service.current())
        return "ok"

    with service.use(other):
        Client(view).get("/")
    Client(view).get("/")
    assert seen == [other, default]


def test_one_use_object_is_reentrant_from_several_threads(service, pair, name):
    default, other = pair
    scope = service.use(other)
    barrier = threading.Barrier(4, timeout=WAIT)
    seen, errors = [], []

    @scope
    def work(inner):
        barrier.wait()  # all four threads are inside the scope at once
        with service.use(inner):
            here = service.current()
        barrier.wait()  # ... and none has left it before the others looked
        return here, service.current()

    def run():
        inner = backend_pair(name)[0] if name != "debug" else False
        try:
            seen.append((inner, *work(inner)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) == 4
    for inner, here, after_inner in seen:
        assert here is inner
        assert after_inner is other
    assert service.current() is default


def test_use_in_one_thread_is_invisible_to_another(service, pair):
    default, other = pair
    inside, looked = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with service.use(other):
            seen["worker"] = service.current()
            inside.set()
            looked.wait(WAIT)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(WAIT)
    seen["main"] = service.current()
    looked.set()
    thread.join()
    assert seen == {"worker": other, "main": default}


def test_use_in_one_asyncio_task_is_invisible_to_another(service, pair):
    default, other = pair

    async def main():
        entered = asyncio.Event()
        release = asyncio.Event()

        async def scoped():
            with service.use(other):
                entered.set()
                await release.wait()
                return service.current()

        async def plain():
            await entered.wait()
            seen = service.current()
            release.set()
            return seen

        return await asyncio.gather(scoped(), plain())

    assert asyncio.run(main()) == [other, default]


# -- wrong backends ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["configure", "use"])
def test_a_non_backend_raises_type_error_naming_the_service(service, pair, name, how):
    with pytest.raises(TypeError) as info:
        getattr(service, how)(object())
    message = str(info.value)
    assert f"djng.{name} expects" in message
    assert EXPECTS[name] in message
    assert "object object at" in message  # it names what it got
    assert service.current() is pair[0]  # nothing changed
