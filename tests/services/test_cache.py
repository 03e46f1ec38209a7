"""djng.cache: backends as plain objects, and Django's cache following the stack."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.core.cache import cache as django_cache
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

import djng
from djng.services.stack import _UNSET
from djng.testing import Client

# -- backends without any stack -----------------------------------------------------------


def test_locmem_instances_are_separate_stores_unless_they_share_a_name():
    a, b = djng.cache.LocMem(), djng.cache.LocMem()
    a.set("k", "a")
    assert a.get("k") == "a"
    assert b.get("k") is None

    named1, named2 = djng.cache.LocMem(name="shared-svc"), djng.cache.LocMem(name="shared-svc")
    named1.set("k", "shared")
    assert named2.get("k") == "shared"
    assert djng.cache.LocMem(name="other-svc").get("k") is None
    named1.clear()


def test_locmem_options():
    prefixed = djng.cache.LocMem(name="prefix-svc", key_prefix="p")
    plain = djng.cache.LocMem(name="prefix-svc")
    prefixed.set("k", 1)
    assert prefixed.get("k") == 1
    assert plain.get("k") is None  # same store, different key
    assert prefixed.make_key("k").startswith("p:")
    assert djng.cache.LocMem(timeout=7).default_timeout == 7
    assert djng.cache.LocMem().default_timeout == 300
    prefixed.clear()


@pytest.mark.parametrize("make", [djng.cache.LocMem, lambda **kw: djng.cache.FileBased("x", **kw)])
def test_timeout_none_means_never_expire(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert make(timeout=None).default_timeout is None


def test_filebased_stores_in_files(tmp_path):
    folder = tmp_path / "cache"
    backend = djng.cache.FileBased(folder)
    assert backend.get("k") is None
    backend.set("k", {"v": 1})
    assert folder.is_dir() and any(folder.iterdir())
    assert backend.get("k") == {"v": 1}
    assert djng.cache.FileBased(str(folder)).get("k") == {"v": 1}  # it is on disk
    assert djng.cache.FileBased(tmp_path / "elsewhere").get("k") is None


def test_filebased_creates_its_folder_only_when_first_written(tmp_path):
    folder = tmp_path / "cache"
    backend = djng.cache.FileBased(folder)
    assert not folder.exists()
    backend.set("k", "v")
    assert folder.is_dir()


def test_dummy_stores_nothing():
    backend = djng.cache.Dummy()
    backend.set("k", "v")
    assert backend.get("k") is None
    assert backend.get("k", "fallback") == "fallback"


def test_backends_are_django_cache_backends():
    for backend in (djng.cache.LocMem(), djng.cache.Dummy()):
        assert isinstance(backend, BaseCache)
        djng.cache.use(backend)  # accepted


# -- the service --------------------------------------------------------------------------


def test_the_embedded_default_is_a_locmem_built_on_first_use():
    djng.cache.reset()
    assert djng.cache._default is _UNSET
    djng.cache.set("k", "v")
    assert isinstance(djng.cache._default, djng.cache.LocMem)
    assert djng.cache.get("k") == "v"


def test_attribute_access_forwards_to_the_backend_in_effect():
    default, other = djng.cache.LocMem(), djng.cache.LocMem()
    djng.cache.configure(default)
    djng.cache.set("k", "default")
    with djng.cache.use(other):
        assert djng.cache.get("k") is None
        djng.cache.set("k", "other")
        assert djng.cache.get("k") == "other"
    assert djng.cache.get("k") == "default"
    assert other.get("k") == "other"
    assert default.get("k") == "default"


def test_a_django_cache_backend_is_accepted_and_anything_else_is_not():
    from django.core.cache.backends.locmem import LocMemCache

    backend = LocMemCache("svc-raw", {})
    djng.cache.configure(backend)
    assert djng.cache.current() is backend
    with pytest.raises(TypeError, match=r"djng\.cache expects a Django cache backend"):
        djng.cache.configure(42)
    with pytest.raises(TypeError, match=r"djng\.cache expects"):
        djng.cache.use(LocMemCache)  # the class, not an instance


# -- Django follows the stack ---------------------------------------------------------------


def test_django_cache_and_caches_default_follow_the_stack():
    default, other = djng.cache.LocMem(), djng.cache.LocMem()
    djng.cache.configure(default)
    django_cache.set("k", "via-django")
    assert default.get("k") == "via-django"
    with djng.cache.use(other):
        assert django_cache.get("k") is None
        caches["default"].set("k", "other")
        assert django_cache.get("k") == "other"
        assert isinstance(caches["default"], djng.cache.LocMem)
    assert other.get("k") == "other"
    assert caches["default"].get("k") == "via-django"


def test_django_cache_follows_configure_in_another_thread():
    first, second = djng.cache.LocMem(), djng.cache.LocMem()
    second.set("k", "second")
    djng.cache.configure(first)
    seen = []

    def worker():
        seen.append(django_cache.get("k"))
        djng.cache.configure(second)
        seen.append(django_cache.get("k"))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [None, "second"]
    assert django_cache.get("k") == "second"


def test_django_async_cache_api_follows_the_stack_per_task():
    a, b = djng.cache.LocMem(), djng.cache.LocMem()
    a.set("k", "a")
    b.set("k", "b")

    async def read(backend):
        with djng.cache.use(backend):
            await asyncio.sleep(0)  # let the other task run inside its own scope
            return await django_cache.aget("k")

    async def main():
        return await asyncio.gather(read(a), read(b), django_cache.aget("k"))

    djng.cache.configure(djng.cache.LocMem())
    assert asyncio.run(main()) == ["a", "b", None]
    with djng.cache.use(b):
        assert asyncio.run(django_cache.aget("k")) == "b"


def test_a_view_using_django_cache_follows_push_for_one_request():
    default, pushed = djng.cache.LocMem(), djng.cache.LocMem()
    djng.cache.configure(default)

    def view(request):
        if request.GET.get("push"):
            djng.cache.push(pushed)
        count = django_cache.get("count", 0) + 1
        django_cache.set("count", count)
        return str(count)

    client = Client(view)
    assert client.get("/").text == "1"
    assert client.get("/", {"push": "1"}).text == "1"
    assert client.get("/", {"push": "1"}).text == "2"
    assert client.get("/").text == "2"
    assert default.get("count") == 2 and pushed.get("count") == 2
