"""djng.cache.Redis against a real Redis server (DJNG_TEST_REDIS_URL)."""

from __future__ import annotations

import contextlib
import threading

from conftest import free_port
from django.core.cache import cache, caches

import djng


def _with_prefix(url: str, prefix: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}key_prefix={prefix}"


def test_redis_backend_stores_in_redis(redis_url, redis_prefix, redis_client):
    backend = djng.cache.Redis(redis_url, key_prefix=redis_prefix)
    backend.set("answer", 42)
    backend.set("greeting", "hello")
    assert backend.get("answer") == 42
    assert backend.get("greeting") == "hello"
    assert backend.incr("answer") == 43
    # Django's key format: <prefix>:<version>:<key>
    assert redis_client.get(f"{redis_prefix}:1:answer") == b"43"
    assert redis_client.exists(f"{redis_prefix}:1:greeting") == 1
    backend.delete("greeting")
    assert redis_client.exists(f"{redis_prefix}:1:greeting") == 0


def test_push_per_request_lands_where_expected(redis_url, redis_prefix, redis_client):
    section = djng.cache.Redis(redis_url, key_prefix=f"{redis_prefix}-A")
    default = djng.cache.Redis(redis_url, key_prefix=f"{redis_prefix}-B")

    def view(request):
        if request.headers.get("X-Section") == "a":
            djng.cache.push(section)
        cache.set("visits", int(request.GET["n"]))
        return {"prefix": djng.cache.current().key_prefix, "read": cache.get("visits")}

    client = djng.testing.Client(view)
    with djng.cache.use(default):
        pushed = client.get("/?n=1", headers={"X-Section": "a"}).json()
        plain = client.get("/?n=2").json()
        # The push ended with its request: the test's scope is the default again.
        assert djng.cache.current() is default
    assert pushed == {"prefix": f"{redis_prefix}-A", "read": 1}
    assert plain == {"prefix": f"{redis_prefix}-B", "read": 2}
    assert redis_client.get(f"{redis_prefix}-A:1:visits") == b"1"
    assert redis_client.get(f"{redis_prefix}-B:1:visits") == b"2"


def test_configure_redis_url_is_followed_by_django_cache(redis_url, redis_prefix, redis_client):
    djng.cache.configure(_with_prefix(redis_url, redis_prefix))
    assert isinstance(djng.cache.default(), djng.cache.Redis)
    cache.set("via-django", 7)
    caches["default"].set("via-caches", 8)
    djng.cache.set("via-djng", 9)
    assert redis_client.get(f"{redis_prefix}:1:via-django") == b"7"
    assert redis_client.get(f"{redis_prefix}:1:via-caches") == b"8"
    assert redis_client.get(f"{redis_prefix}:1:via-djng") == b"9"
    assert cache.get("via-djng") == 9
    assert cache.get_many(["via-django", "via-caches"]) == {"via-django": 7, "via-caches": 8}


@contextlib.contextmanager
def _secret_key(value: str):
    """A SECRET_KEY for sessions: djng.secrets when it exists, else Django's setting."""
    secrets = getattr(djng, "secrets", None)
    if secrets is not None:
        with secrets.use(value):
            yield
        return
    # No djng.secrets yet: set Django's setting for the block and restore it exactly
    # (django.test.override_settings cannot restore an empty SECRET_KEY).
    from django.conf import settings

    holder = settings._wrapped.__dict__
    missing = object()
    saved = holder.get("SECRET_KEY", missing)
    settings.SECRET_KEY = value
    try:
        yield
    finally:
        settings.__dict__.pop("SECRET_KEY", None)  # LazySettings' cached value
        if saved is missing:
            holder.pop("SECRET_KEY", None)
        else:
            holder["SECRET_KEY"] = saved


def test_cache_sessions_on_pushed_redis(redis_url, redis_prefix, redis_client):
    from django.contrib.sessions.backends.cache import KEY_PREFIX, SessionStore

    sessions = djng.cache.Redis(redis_url, key_prefix=redis_prefix)

    def login(request):
        djng.cache.push(sessions)
        session = SessionStore()
        session["user"] = request.GET["user"]
        session.save()
        return {"key": session.session_key}

    def whoami(request):
        djng.cache.push(sessions)
        return {"user": SessionStore(request.GET["key"]).get("user")}

    with _secret_key("x" * 50):
        key = djng.testing.Client(login).get("/?user=ada").json()["key"]
        assert redis_client.exists(f"{redis_prefix}:1:{KEY_PREFIX}{key}") == 1
        assert djng.testing.Client(whoami).get("/", query={"key": key}).json() == {"user": "ada"}
        # Outside the pushing request, the default (in-process) cache has no such session.
        with djng.cache.use(djng.cache.LocMem()):
            assert SessionStore(key).get("user") is None


def test_redis_down_fails_quickly_with_connection_error():
    import redis

    port = free_port()  # nothing listens there
    backend = djng.cache.Redis(f"redis://127.0.0.1:{port}/0")
    outcome: list[BaseException] = []

    def use_it():
        try:
            backend.set("k", 1)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            outcome.append(exc)

    worker = threading.Thread(target=use_it, daemon=True)
    worker.start()
    worker.join(timeout=15)  # bounded: a hang fails the test instead of the suite
    assert not worker.is_alive(), "a Redis that is down made the cache hang"
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, (ConnectionError, redis.exceptions.ConnectionError)), repr(error)
    assert f"127.0.0.1:{port}" in str(error)


def test_redis_down_in_a_request_is_a_500_not_a_hang():
    port = free_port()

    def view(request):
        djng.cache.push(djng.cache.Redis(f"redis://127.0.0.1:{port}/0"))
        return {"value": cache.get("k")}

    response = djng.testing.Client(view, raise_exceptions=False).get("/")
    assert response.status_code == 500
