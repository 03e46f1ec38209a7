"""Async views, end to end: routing, errors, services, batteries, middleware, the ORM and the
cache, isolation between real tasks and threads, worker threads, streaming, lifespan, the
blocked-loop watch, and async views under WSGI.

The tests that use ``djng.testing.Client`` run twice (tests/conftest.py: through
``djng.wsgi`` and through ``djng.asgi``); the others drive ``djng.testing.AsyncClient`` or
the ASGI callable itself. Every wait on something that could hang has a timeout (``WAIT``);
none asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import markcoroutinefunction, sync_to_async
from django.core import signals
from django.core.cache import cache as django_cache
from django.core.exceptions import PermissionDenied
from django.utils.deprecation import MiddlewareMixin

import djng
from djng import models, testing
from djng.testing import AsyncClient

#: Seconds anything waits before the test gives up: a guard against hanging, not a timing
#: assertion.
WAIT = 5

SECRET = "test-secret-" + "x" * 40


def run(coroutine):
    """Run ``coroutine`` on a new event loop (the test's), giving up after ``WAIT`` * 4 s."""

    async def bounded():
        return await asyncio.wait_for(coroutine, WAIT * 4)

    return asyncio.run(bounded())


async def within(awaitable, timeout: float = WAIT):
    return await asyncio.wait_for(awaitable, timeout)


class Recorder:
    """A reporter for ``djng.errors`` that keeps what it is sent."""

    def __init__(self):
        self.reports: list[tuple[object, BaseException]] = []

    def report(self, request, exc):
        self.reports.append((request, exc))

    @property
    def exceptions(self):
        return [exc for _, exc in self.reports]


class Note(djng.Model):
    text = models.CharField(max_length=50)


@pytest.fixture
def secret_key():
    with djng.secrets.use(SECRET):
        yield SECRET


@pytest.fixture
def finished():
    """The threads ``request_finished`` was sent in (a receiver connected for the test)."""
    seen: list[threading.Thread] = []

    def receiver(**kwargs):
        seen.append(threading.current_thread())

    signals.request_finished.connect(receiver, weak=False)
    try:
        yield seen
    finally:
        signals.request_finished.disconnect(receiver)


# -- 1. routing to async views ---------------------------------------------------------------


async def hello(request):
    await asyncio.sleep(0)
    return "hello"


async def item(request, pk: int, slug: str):
    await asyncio.sleep(0)
    return {"pk": pk, "pk_type": type(pk).__name__, "slug": slug, "path": request.path}


async def as_dict(request):
    return {"kind": "dict", "items": [1, 2]}


async def as_tuple(request):
    return "made", 201, {"X-Made": "yes"}


async def as_tuple_dict(request):
    return {"ok": False}, 422


async def as_response(request):
    response = djng.Response(b"raw", content_type="text/plain")
    response["X-Raw"] = "1"
    return response


async def as_bytes(request):
    return b"bytes!"


def sync_view(request):
    return {"sync": True, "method": request.method}


async def async_get(request):
    return {"async": True, "method": request.method}


def test_async_views_in_paths_with_converters_and_every_return_type():
    app = djng.Router(
        djng.path("", hello),
        djng.path("items/<int:pk>/<slug:slug>", item),
        djng.path("dict", as_dict),
        djng.path("tuple", as_tuple),
        djng.path("tuple-dict", as_tuple_dict),
        djng.path("response", as_response),
        djng.path("bytes", as_bytes),
    )
    client = testing.Client(app)
    response = client.get("/")
    assert (response.status_code, response.content) == (200, b"hello")
    assert response["Content-Type"].startswith("text/html")
    assert client.get("/items/42/a-slug").json() == {
        "pk": 42, "pk_type": "int", "slug": "a-slug", "path": "/items/42/a-slug",
    }
    assert client.get("/items/nope/a-slug").status_code == 404  # the converter refuses it
    response = client.get("/dict")
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"kind": "dict", "items": [1, 2]}
    response = client.get("/tuple")
    assert (response.status_code, response.content, response["X-Made"]) == (201, b"made", "yes")
    response = client.get("/tuple-dict")
    assert (response.status_code, response.json()) == (422, {"ok": False})
    response = client.get("/response")
    assert (response.content, response["X-Raw"], response["Content-Type"]) == (
        b"raw", "1", "text/plain")
    assert client.get("/bytes").content == b"bytes!"


def test_an_async_view_alone_is_an_app():
    response = testing.Client(hello).get("/anything")
    assert response.content == b"hello"


def test_an_async_view_that_returns_nothing_is_explained():
    async def forgot(request):
        await asyncio.sleep(0)

    with pytest.raises(TypeError, match=r"<locals>\.forgot returned None \(did it forget"):
        testing.Client(djng.Router(djng.path("", forgot))).get("/")


def test_dict_views_mix_async_and_sync_methods():
    app = djng.Router(djng.path("thing", {"GET": async_get, "POST": sync_view}))
    client = testing.Client(app)
    assert client.get("/thing").json() == {"async": True, "method": "GET"}
    assert client.post("/thing").json() == {"sync": True, "method": "POST"}
    response = client.put("/thing")
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert client.head("/thing").status_code == 200


def test_a_mounted_router_of_async_views_and_a_mounted_sync_router():
    api = djng.Router(
        djng.path("items/<int:pk>/<slug:slug>", item),
        djng.path("sync", sync_view),
        djng.path("", hello),
    )
    legacy = djng.Router(djng.path("old", sync_view), djng.path("<int:n>", lambda r, n: {"n": n}))
    app = djng.Router(
        djng.mount("api", api),
        djng.mount("legacy", legacy),
        djng.path("", as_dict),
    )
    client = testing.Client(app)
    assert client.get("/api/items/7/x").json()["path"] == "/api/items/7/x"
    assert client.get("/api/items/7/x").json()["pk"] == 7
    assert client.get("/api/sync").json() == {"sync": True, "method": "GET"}
    assert client.get("/api/").content == b"hello"
    assert client.get("/legacy/old").json() == {"sync": True, "method": "GET"}
    assert client.get("/legacy/3").json() == {"n": 3}
    assert client.get("/").json()["kind"] == "dict"
    assert client.get("/api/missing").status_code == 404
    assert client.get("/legacy/missing").status_code == 404


def test_async_views_run_on_the_loop_and_sync_views_off_it_under_asgi(adapter):
    threads = {}

    async def on_loop(request):
        threads["async"] = threading.current_thread()
        threads["loop"] = asyncio.get_running_loop()
        return "a"

    def off_loop(request):
        threads["sync"] = threading.current_thread()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            threads["sync_has_loop"] = False
        else:
            threads["sync_has_loop"] = True
        return "s"

    client = testing.Client(djng.Router(djng.path("a", on_loop), djng.path("s", off_loop)))
    assert client.get("/a").content == b"a"
    assert client.get("/s").content == b"s"
    assert threads["sync_has_loop"] is False  # a sync view never runs on an event loop
    if adapter == "wsgi":
        assert threads["sync"] is threading.current_thread()
    else:
        assert threads["sync"].name.startswith("djng-worker")
        assert not threads["async"].name.startswith("djng-worker")


# -- 2. errors -------------------------------------------------------------------------------


async def missing(request):
    await asyncio.sleep(0)
    raise djng.Http404("no such thing")


async def forbidden(request):
    await asyncio.sleep(0)
    raise PermissionDenied


async def broken(request):
    await asyncio.sleep(0)
    raise ValueError("async boom")


async def not_found_page(request, exc):
    await asyncio.sleep(0)
    return f"custom 404: {exc}"


async def server_error_page(request):
    await asyncio.sleep(0)
    return {"custom": 500, "thread_is_worker": threading.current_thread().name}


def error_app():
    return djng.errors(
        djng.Router(
            djng.path("missing", missing),
            djng.path("forbidden", forbidden),
            djng.path("broken", broken),
            djng.path("ok", hello),
        ),
        not_found=not_found_page,
        server_error=server_error_page,
    )


def test_async_error_pages_replace_404_and_500_and_the_500_is_reported_once():
    recorder = Recorder()
    client = testing.Client(error_app(), raise_exceptions=False)
    with djng.errors.use(recorder):
        response = client.get("/missing")
        assert (response.status_code, response.text) == (404, "custom 404: no such thing")
        response = client.get("/no-route")
        assert response.status_code == 404 and response.text.startswith("custom 404")
        assert client.get("/forbidden").status_code == 403  # not replaced: a 403
        assert recorder.reports == []  # 4xx are not reported
        response = client.get("/broken")
        assert response.status_code == 500
        assert response.json()["custom"] == 500
        assert client.get("/ok").content == b"hello"
    [(request, exc)] = recorder.reports
    assert isinstance(exc, ValueError) and str(exc) == "async boom"
    assert request.path == "/broken"


def test_async_view_exceptions_without_error_pages():
    app = djng.Router(
        djng.path("missing", missing), djng.path("forbidden", forbidden),
        djng.path("broken", broken),
    )
    recorder = Recorder()
    with djng.errors.use(recorder):
        quiet = testing.Client(app, raise_exceptions=False)
        assert quiet.get("/missing").status_code == 404
        assert quiet.get("/forbidden").status_code == 403
        response = quiet.get("/broken", headers={"Accept": "application/json"})
        assert response.status_code == 500
        assert response["Content-Type"] == "application/problem+json"
        assert [type(exc) for exc in recorder.exceptions] == [ValueError]
        loud = testing.Client(app)
        with pytest.raises(ValueError, match="async boom"):
            loud.get("/broken")
        assert loud.get("/missing").status_code == 404  # 4xx are answers, not raised
    assert len(recorder.reports) == 1  # the raised one went to the test, not the reporter


def test_a_sync_error_page_for_an_async_app_and_an_async_page_for_a_sync_app():
    recorder = Recorder()
    sync_pages = djng.errors(
        djng.Router(djng.path("broken", broken)),
        not_found=lambda request: "sync 404",
        server_error=lambda request, exc: (f"sync 500 for {type(exc).__name__}", 500),
    )
    async_pages = djng.errors(
        djng.Router(djng.path("broken", lambda request: 1 / 0)),
        not_found=not_found_page,
        server_error=server_error_page,
    )
    with djng.errors.use(recorder):
        client = testing.Client(sync_pages, raise_exceptions=False)
        assert (client.get("/x").status_code, client.get("/x").text) == (404, "sync 404")
        response = client.get("/broken")
        assert (response.status_code, response.text) == (500, "sync 500 for ValueError")
        client = testing.Client(async_pages, raise_exceptions=False)
        assert client.get("/x").text.startswith("custom 404")
        assert client.get("/broken").json()["custom"] == 500
    assert [type(exc) for exc in recorder.exceptions] == [ValueError, ZeroDivisionError]


def test_a_500_through_middleware_reconfigure_and_error_pages_is_reported_once():
    events: list = []
    recorder = Recorder()
    app = djng.errors(
        djng.middleware(recording_middleware(events))(
            djng.reconfigure(djng.Router(djng.path("broken", broken)), cache=djng.cache.LocMem())
        ),
        server_error=server_error_page,
    )
    with djng.errors.use(recorder):
        response = testing.Client(app, raise_exceptions=False).get("/broken")
    assert response.status_code == 500
    assert response.json()["custom"] == 500
    assert [type(exc) for exc in recorder.exceptions] == [ValueError]


def test_async_views_read_bodies_and_reverse_urls_under_a_mount():
    async def echo(request):
        import json

        if request.content_type == "application/json":
            return {"json": json.loads(request.body), "where": djng.reverse("echo")}
        return {"form": request.POST.dict(), "query": request.GET.dict()}

    app = djng.Router(djng.mount("api", djng.Router(djng.path("echo", echo, name="echo"))))
    client = testing.Client(app)
    assert client.post("/api/echo", json={"a": [1, 2]}).json() == {
        "json": {"a": [1, 2]}, "where": "/api/echo"}
    assert client.post("/api/echo?q=1", data={"name": "x" * 5000}).json() == {
        "form": {"name": "x" * 5000}, "query": {"q": "1"}}


# -- 3. services around async views: reconfigure and use() --------------------------------


class CacheProbe:
    """Renders as the name of the cache in effect when the template is rendered."""

    def __str__(self):
        return djng.cache.current().name


PROBE_TEMPLATES = djng.templates.Django(
    strings={"probe.html": "cache={{ probe }} name={{ name }}"}
)


async def cache_name(request):
    await asyncio.sleep(0)
    return {"cache": djng.cache.current().name, "django": django_cache._wrapped.name}


async def lazy_page(request):
    await asyncio.sleep(0)
    return djng.TemplateResponse(request, "probe.html", {"probe": CacheProbe(), "name": "lazy"})


async def async_stream(request):
    async def body():
        for index in range(3):
            await asyncio.sleep(0)
            yield f"{index}:{djng.cache.current().name};"

    await asyncio.sleep(0)
    return djng.StreamingResponse(body())


def test_reconfigure_reaches_async_views_their_lazy_templates_and_async_streams():
    reconfigured = djng.cache.LocMem("reconfigured")
    app = djng.reconfigure(
        djng.Router(
            djng.path("view", cache_name),
            djng.path("page", lazy_page),
            djng.path("stream", async_stream),
        ),
        cache=reconfigured,
        templates=PROBE_TEMPLATES,
    )
    before = djng.cache.current()
    client = testing.Client(app)
    assert client.get("/view").json() == {"cache": "reconfigured", "django": "reconfigured"}
    response = client.get("/page")
    assert response.text == "cache=reconfigured name=lazy"
    assert response.template_name == "probe.html"
    response = client.get("/stream")
    assert response.streaming
    assert response.text == "0:reconfigured;1:reconfigured;2:reconfigured;"
    assert djng.cache.current() is before


def test_reconfigure_around_a_single_async_view_and_a_mount():
    inner = djng.reconfigure(cache_name, cache=djng.cache.LocMem("inner"))
    section = djng.reconfigure(
        djng.Router(djng.path("view", cache_name), djng.path("stream", async_stream)),
        cache=djng.cache.LocMem("section"),
    )
    app = djng.Router(
        djng.path("inner", inner), djng.mount("section", section), djng.path("plain", cache_name)
    )
    client = testing.Client(app)
    with djng.cache.use(djng.cache.LocMem("outer")):
        assert client.get("/inner").json()["cache"] == "inner"
        assert client.get("/section/view").json()["cache"] == "section"
        assert client.get("/section/stream").text == "0:section;1:section;2:section;"
        assert client.get("/plain").json()["cache"] == "outer"  # the test's use() reaches it


def test_cache_use_as_a_decorator_on_async_views_covers_streams_and_lazy_templates():
    decorated = djng.cache.LocMem("decorated")

    @djng.cache.use(decorated)
    async def page(request):
        return await lazy_page(request)

    @djng.cache.use(decorated)
    async def stream(request):
        return await async_stream(request)

    @djng.cache.use(decorated)
    async def view(request):
        return await cache_name(request)

    assert asyncio.iscoroutinefunction(page)
    app = djng.Router(djng.path("page", page), djng.path("stream", stream),
                      djng.path("view", view), djng.path("plain", cache_name))
    client = testing.Client(app)
    with djng.templates.use(PROBE_TEMPLATES), djng.cache.use(djng.cache.LocMem("around")):
        assert client.get("/view").json() == {"cache": "decorated", "django": "decorated"}
        assert client.get("/page").text == "cache=decorated name=lazy"
        assert client.get("/stream").text == "0:decorated;1:decorated;2:decorated;"
        assert client.get("/plain").json()["cache"] == "around"


def test_a_cache_pushed_in_an_async_view_reaches_its_stream_and_template_only():
    def pushing(view):
        async def pushed(request):
            djng.cache.push(djng.cache.LocMem("pushed"))
            return await view(request)

        return pushed

    app = djng.reconfigure(
        djng.Router(
            djng.path("page", pushing(lazy_page)),
            djng.path("stream", pushing(async_stream)),
            djng.path("view", cache_name),
        ),
        templates=PROBE_TEMPLATES,
        cache=djng.cache.LocMem("base"),
    )
    client = testing.Client(app)
    assert client.get("/page").text == "cache=pushed name=lazy"
    assert client.get("/stream").text == "0:pushed;1:pushed;2:pushed;"
    assert client.get("/view").json()["cache"] == "base"  # nothing left from the pushes


# -- 4. batteries: auth, login_required, sessions, CSRF, static -----------------------------

CSRF_TEMPLATES = djng.templates.Django(
    strings={"form.html": "<form method=post>{% csrf_token %}</form>"}
)


def token_of(response) -> str:
    import re

    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert found, response.content[:300]
    return found.group(1).decode()


async def whoami(request):
    user = await request.auser()
    return {"user": user.username if user.is_authenticated else None}


async def login_as(request, username):
    from django.contrib.auth import alogin

    user = await djng.auth.User.objects.aget(username=username)
    await alogin(request, user)
    return {"logged_in": username}


async def form_page(request):
    return djng.TemplateResponse(request, "form.html")


async def submit(request):
    await asyncio.sleep(0)
    return {"posted": request.POST.get("value", "")}


@pytest.fixture
def auth_site(database, secret_key):
    djng.auth.User.objects.create(username="ada")  # no password: no slow hashing
    router = djng.Router(
        djng.path("", whoami),
        djng.path("as/<str:username>", login_as),
        djng.path("private", djng.login_required(whoami)),
        djng.mount("members", djng.login_required(djng.Router(djng.path("area", whoami)))),
        djng.path("form", form_page),
        djng.path("submit", submit),
        djng.path("exempt", djng.csrf_exempt(submit)),
        djng.path("sync", sync_view),
    )
    return djng.reconfigure(djng.auth(router, login_url="/login"), templates=CSRF_TEMPLATES)


def test_login_required_on_async_views_behind_auth(auth_site):
    client = testing.Client(auth_site)
    assert client.get("/").json() == {"user": None}
    response = client.get("/private")
    assert (response.status_code, response["Location"]) == (302, "/login?next=/private")
    assert client.get("/members/area")["Location"] == "/login?next=/members/area"
    response = client.get("/private", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert client.get("/as/ada").json() == {"logged_in": "ada"}
    assert client.get("/").json() == {"user": "ada"}
    assert client.get("/private").json() == {"user": "ada"}
    assert client.get("/members/area").json() == {"user": "ada"}
    assert testing.Client(auth_site).get("/private").status_code == 302  # another client


def test_csrf_protects_async_views_behind_auth_and_csrf_exempt_lets_them_through(auth_site):
    client = testing.Client(auth_site)
    page = client.get("/form")
    assert page.status_code == 200
    response = client.post("/submit", data={"value": "x"})
    assert response.status_code == 403
    assert "CSRF token missing" in response.text
    response = client.post(
        "/submit", data={"value": "x", "csrfmiddlewaretoken": token_of(page)}
    )
    assert (response.status_code, response.json()) == (200, {"posted": "x"})
    # csrf_exempt on an async view: no cookie, no token, still passes.
    response = testing.Client(auth_site).post("/exempt", data={"value": "y"})
    assert (response.status_code, response.json()) == (200, {"posted": "y"})
    assert testing.Client(auth_site).post("/sync").status_code == 403


def test_sessions_in_async_views(secret_key):
    async def counter(request):
        count = await request.session.aget("count", 0) + 1
        await request.session.aset("count", count)
        return {"count": count}

    app = djng.sessions(djng.Router(djng.path("", counter), djng.path("sync", sync_view)))
    client = testing.Client(app)
    assert [client.get("/").json()["count"] for _ in range(3)] == [1, 2, 3]
    assert testing.Client(app).get("/").json() == {"count": 1}
    assert client.get("/sync").json()["sync"] is True
    assert client.get("/").json() == {"count": 4}


def test_static_around_an_app_with_async_views(tmp_path):
    (tmp_path / "site.css").write_text("body { color: red }")

    async def page(request):
        from django.templatetags.static import static

        await asyncio.sleep(0)
        return {"css": static("site.css")}

    app = djng.static(djng.Router(djng.path("", page), djng.path("sync", sync_view)),
                      root=tmp_path, app_dirs=False)
    client = testing.Client(app)
    assert client.get("/").json() == {"css": "/static/site.css"}
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert response.content == b"body { color: red }"
    assert response["Content-Type"].startswith("text/css")
    assert client.get("/static/missing.css").status_code == 404
    assert client.post("/static/site.css").status_code == 405
    assert client.get("/sync").json()["sync"] is True


# -- 5. Django middleware around async views ---------------------------------------------


def recording_middleware(events: list):
    class Recording(MiddlewareMixin):
        def process_request(self, request):
            events.append(("process_request", threading.current_thread()))

        def process_view(self, request, view, args, kwargs):
            events.append(("process_view", threading.current_thread()))

        def process_template_response(self, request, response):
            events.append(("process_template_response", threading.current_thread()))
            response.context_data = {**(response.context_data or {}), "name": "by-middleware"}
            return response

        def process_exception(self, request, exc):
            events.append(("process_exception", threading.current_thread()))
            if isinstance(exc, KeyError):
                return djng.Response("handled by middleware", status=418)
            return None

        def process_response(self, request, response):
            events.append(("process_response", threading.current_thread()))
            response["X-Recorded"] = "1"
            return response

    return Recording


def test_middleware_mixin_hooks_around_async_views_in_order(adapter):
    events: list = []

    async def view(request):
        events.append(("view", threading.current_thread()))
        return "viewed"

    async def page(request):
        events.append(("view", threading.current_thread()))
        return djng.TemplateResponse(request, "probe.html", {"probe": "p", "name": "view"})

    async def fails(request):
        events.append(("view", threading.current_thread()))
        raise KeyError("x")

    app = djng.middleware(recording_middleware(events))(
        djng.Router(djng.path("", view), djng.path("page", page), djng.path("fails", fails))
    )
    client = testing.Client(app)
    response = client.get("/")
    assert (response.content, response["X-Recorded"]) == (b"viewed", "1")
    assert [name for name, _ in events] == [
        "process_request", "process_view", "view", "process_response",
    ]
    if adapter == "asgi":
        hooks = {thread for name, thread in events if name != "view"}
        view_thread = dict(events)["view"]
        assert len(hooks) == 1  # the request's worker thread
        assert next(iter(hooks)).name.startswith("djng-worker")
        assert not view_thread.name.startswith("djng-worker")  # the loop's thread
    events.clear()
    with djng.templates.use(PROBE_TEMPLATES):
        response = client.get("/page")
    assert response.text.endswith("name=by-middleware")
    assert [name for name, _ in events] == [
        "process_request", "process_view", "view", "process_template_response",
        "process_response",
    ]
    events.clear()
    response = client.get("/fails")
    assert (response.status_code, response.text) == (418, "handled by middleware")
    assert [name for name, _ in events] == [
        "process_request", "process_view", "view", "process_exception", "process_response",
    ]


def test_process_view_may_answer_instead_of_the_async_view():
    called = []

    class ShortCircuit(MiddlewareMixin):
        def process_view(self, request, view, args, kwargs):
            if request.path == "/blocked":
                return djng.Response("blocked", status=403)
            return None

    async def view(request):
        called.append(request.path)
        return "reached"

    app = djng.middleware(ShortCircuit)(
        djng.Router(djng.path("blocked", view), djng.path("open", view))
    )
    client = testing.Client(app)
    assert client.get("/blocked").status_code == 403
    assert client.get("/open").content == b"reached"
    assert called == ["/open"]


def test_a_native_async_middleware_runs_on_the_loop_without_a_hop(adapter):
    seen: dict = {}

    class AsyncOnly:
        async_capable = True
        sync_capable = False

        def __init__(self, get_response):
            self.get_response = get_response
            markcoroutinefunction(self)

        async def __call__(self, request):
            seen["middleware"] = threading.current_thread()
            seen["middleware_loop"] = asyncio.get_running_loop()
            response = await self.get_response(request)
            response["X-Async-Middleware"] = "yes"
            return response

    async def view(request):
        seen["view"] = threading.current_thread()
        seen["view_loop"] = asyncio.get_running_loop()
        return "through"

    app = djng.middleware(AsyncOnly)(djng.Router(djng.path("", view)))
    response = testing.Client(app).get("/")
    assert (response.content, response["X-Async-Middleware"]) == (b"through", "yes")
    assert seen["middleware"] is seen["view"]
    assert seen["middleware_loop"] is seen["view_loop"]
    if adapter == "asgi":
        assert not seen["middleware"].name.startswith("djng-worker")


def test_a_native_async_middleware_around_a_sync_app():
    class AsyncOnly:
        async_capable = True
        sync_capable = False

        def __init__(self, get_response):
            self.get_response = get_response
            markcoroutinefunction(self)

        async def __call__(self, request):
            response = await self.get_response(request)
            response["X-Async-Middleware"] = "yes"
            return response

    client = testing.Client(djng.middleware(AsyncOnly)(djng.Router(djng.path("", sync_view))))
    response = client.get("/")
    assert (response.json()["sync"], response["X-Async-Middleware"]) == (True, "yes")
    assert client.get("/missing").status_code == 404


def test_a_sync_only_middleware_around_async_views_still_answers(adapter):
    seen: dict = {}

    class SyncOnly:
        sync_capable = True
        async_capable = False

        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            seen["middleware"] = threading.current_thread()
            response = self.get_response(request)
            response["X-Sync-Middleware"] = type(response).__name__
            return response

    async def view(request):
        seen["view"] = threading.current_thread()
        await asyncio.sleep(0)
        return {"path": request.path}

    app = djng.middleware(SyncOnly)(
        djng.Router(
            djng.path("a", view), djng.path("s", sync_view), djng.path("stream", async_stream)
        )
    )
    client = testing.Client(app)
    response = client.get("/a")
    assert response.json() == {"path": "/a"}
    assert response["X-Sync-Middleware"] == "HttpResponse"
    assert client.get("/s").json()["sync"] is True
    response = client.get("/stream")
    assert response.text.startswith("0:")
    assert response["X-Sync-Middleware"] == "StreamingHttpResponse"
    if adapter == "asgi":
        assert seen["middleware"].name.startswith("djng-worker")


def test_gzip_around_an_async_stream():
    import gzip

    app = djng.gzip(djng.Router(djng.path("stream", async_stream), djng.path("", hello)))
    client = testing.Client(app)
    response = client.get("/stream", headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).decode().startswith("0:")


# -- 6. the async ORM and the async cache follow the services ------------------------------


def test_the_async_cache_api_follows_a_cache_pushed_in_the_async_view():
    outer = djng.cache.LocMem("outer")

    async def view(request):
        mine = djng.cache.LocMem()
        djng.cache.push(mine)
        await django_cache.aset("key", request.GET["v"])
        await asyncio.sleep(0)
        got = await django_cache.aget("key")
        return {
            "got": got,
            "own_store": mine.get("key"),
            "same": djng.cache.current() is mine,
            "from_worker": await sync_to_async(lambda: django_cache.get("key"))(),
        }

    client = testing.Client(djng.Router(djng.path("", view)))
    with djng.cache.use(outer):
        assert client.get("/", {"v": "one"}).json() == {
            "got": "one", "own_store": "one", "same": True, "from_worker": "one",
        }
        assert outer.get("key") is None  # the pushed backend took the write
        assert django_cache.get("key") is None


def test_the_async_orm_follows_the_database_in_effect(database):
    other = djng.db.SQLite(":memory:")
    with djng.db.use(other):
        djng.db.create_tables(Note)

    async def add(request):
        note = await Note.objects.acreate(text=request.GET["text"])
        return {"id": note.pk, "count": await Note.objects.acount()}

    async def read(request, pk: int):
        note = await Note.objects.aget(pk=pk)
        return {"text": note.text, "texts": [n.text async for n in Note.objects.order_by("pk")]}

    async def other_count(request):
        djng.db.push(other)
        return {"count": await Note.objects.acount()}

    client = testing.Client(djng.Router(
        djng.path("add", add), djng.path("read/<int:pk>", read), djng.path("other", other_count),
        djng.path("sync", lambda request: {"count": Note.objects.count()}),
    ))
    first = client.get("/add", {"text": "a"}).json()
    assert first["count"] == 1
    assert client.get("/add", {"text": "b"}).json()["count"] == 2
    assert client.get(f"/read/{first['id']}").json() == {"text": "a", "texts": ["a", "b"]}
    assert client.get("/other").json() == {"count": 0}
    assert client.get("/sync").json() == {"count": 2}
    assert Note.objects.count() == 2
    with djng.db.use(other):
        assert Note.objects.count() == 0
        assert client.get("/add", {"text": "c"}).json()["count"] == 1  # the test's use()
    other.connection.close()


def test_a_sync_orm_call_in_an_async_view_is_refused():
    from django.core.exceptions import SynchronousOnlyOperation

    async def blocking(request):
        return {"count": Note.objects.count()}

    with djng.db.use(djng.db.SQLite(":memory:")), pytest.raises(SynchronousOnlyOperation):
        testing.Client(djng.Router(djng.path("", blocking))).get("/")


# -- 7. isolation between real tasks and real threads -------------------------------------


async def own_cache(request):
    mine = djng.cache.LocMem()
    value = request.GET["n"]
    djng.cache.push(mine)
    await django_cache.aset("value", value)
    await asyncio.sleep(random.uniform(0, 0.01))
    first = await django_cache.aget("value")
    await asyncio.sleep(random.uniform(0, 0.01))
    return {
        "n": value,
        "read": first,
        "direct": djng.cache.current().get("value"),
        "mine": djng.cache.current() is mine,
    }


async def which_cache(request):
    return {"cache": djng.cache.current().name, "value": await django_cache.aget("value")}


def test_fifty_concurrent_requests_on_one_async_client_each_see_only_their_own_push():
    base = djng.cache.LocMem("base")
    app = djng.Router(djng.path("own", own_cache), djng.path("which", which_cache))

    async def main():
        client = AsyncClient(app, threads=4)
        with djng.cache.use(base):
            responses = await within(asyncio.gather(
                *(client.get("/own", {"n": str(n)}) for n in range(50))
            ))
            after = await within(client.get("/which"))
        return responses, after

    responses, after = run(main())
    for n, response in enumerate(responses):
        assert response.json() == {"n": str(n), "read": str(n), "direct": str(n), "mine": True}
    assert after.json() == {"cache": "base", "value": None}  # nothing left for the next one
    assert base.get("value") is None
    assert djng.cache.current() is not base  # the test's own context is untouched


def test_threads_each_running_a_client_against_async_views():
    app = djng.Router(djng.path("own", own_cache), djng.path("which", which_cache))
    default = djng.cache.current()
    barrier = threading.Barrier(6, timeout=WAIT)

    def worker(index):
        own = djng.cache.LocMem(f"thread-{index}")
        client = testing.Client(app)
        barrier.wait()
        results = []
        with djng.cache.use(own):
            for step in range(8):
                n = f"{index}-{step}"
                results.append((n, client.get("/own", {"n": n}).json()))
                results.append(("which", client.get("/which").json()))
        return own.name, results

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = [future.result(timeout=WAIT * 4)
                    for future in [pool.submit(worker, i) for i in range(6)]]
    for name, results in outcomes:
        for n, body in results:
            if n == "which":
                assert body == {"cache": name, "value": None}
            else:
                assert body == {"n": n, "read": n, "direct": n, "mine": True}
    assert djng.cache.current() is default


# -- 8. sync views and worker threads under djng.asgi ----------------------------------


def test_one_request_keeps_one_thread_for_its_view_close_and_request_finished(
    adapter, finished
):
    events: list = []

    def view(request):
        thread = threading.current_thread()
        events.append(("view", thread))
        response = djng.Response("sync")
        response._resource_closers.append(
            lambda: events.append(("closer", threading.current_thread()))
        )
        return response

    client = testing.Client(djng.Router(djng.path("", view)))
    for _ in range(3):
        events.clear()
        finished.clear()
        assert client.get("/").content == b"sync"
        threads = {thread for _, thread in events} | set(finished)
        assert [name for name, _ in events] == ["view", "closer"]
        assert len(finished) == 1
        assert len(threads) == 1, threads
        if adapter == "wsgi":
            assert threads == {threading.current_thread()}
        else:
            assert next(iter(threads)).name.startswith("djng-worker")


def test_a_bounded_pool_of_two_threads_serves_sequential_and_concurrent_sync_requests():
    request_id: contextvars.ContextVar = contextvars.ContextVar("request_id", default=None)
    lock = threading.Lock()
    by_request: dict[str, list] = {}

    def record(rid, what):
        with lock:
            by_request.setdefault(rid, []).append((what, threading.current_thread()))

    def on_finished(**kwargs):
        record(request_id.get(), "finished")

    def view(request):
        rid = request.GET["id"]
        request_id.set(rid)
        record(rid, "view")
        time.sleep(random.uniform(0, 0.005))
        response = djng.Response(rid)
        response._resource_closers.append(lambda: record(rid, "closer"))
        return response

    app = djng.Router(djng.path("", view))
    signals.request_finished.connect(on_finished, weak=False)
    try:
        async def main():
            async with AsyncClient(app, threads=2) as client:
                for n in range(10):
                    assert (await within(client.get("/", {"id": f"s{n}"}))).text == f"s{n}"
                busy = await within(asyncio.gather(
                    *(client.get("/", {"id": f"c{n}"}) for n in range(10))
                ))
                assert [r.text for r in busy] == [f"c{n}" for n in range(10)]
                assert client.handler.pool.busy == 0

        run(main())
    finally:
        signals.request_finished.disconnect(on_finished)
    assert len(by_request) == 20
    all_threads = set()
    for rid, seen in by_request.items():
        assert sorted(what for what, _ in seen) == ["closer", "finished", "view"], rid
        threads = {thread for _, thread in seen}
        assert len(threads) == 1, (rid, seen)
        all_threads |= threads
    assert len(all_threads) <= 2
    assert all(thread.name.startswith("djng-worker") for thread in all_threads)


def test_async_views_waiting_for_a_thread_do_not_block_the_loop():
    """With one worker thread, a sync request that holds it does not stop async views."""
    held = threading.Event()
    release = threading.Event()

    def slow(request):
        held.set()
        assert release.wait(WAIT)
        return "slow"

    async def quick(request):
        return "quick"

    async def via_orm_thread(request):
        return await sync_to_async(lambda: "thread")()

    app = djng.Router(djng.path("slow", slow), djng.path("quick", quick),
                      djng.path("thread", via_orm_thread))

    async def main():
        client = AsyncClient(app, threads=1)
        slow_request = asyncio.ensure_future(client.get("/slow"))
        await within(asyncio.to_thread(held.wait, WAIT))
        # The async view answers while the only thread is held (its close may wait for
        # the thread when request_finished has receivers: only its body is awaited here).
        answered = asyncio.Event()
        quick = asyncio.ensure_future(call_asgi(
            client.handler, "/quick", on_body=lambda message: answered.set()
        ))
        await within(answered.wait())
        waiting = asyncio.ensure_future(client.get("/thread"))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # it waits for the one thread, on the loop
        release.set()
        assert (await within(slow_request)).text == "slow"
        assert (await within(waiting)).text == "thread"
        assert bodies(await within(quick)) == [b"quick"]

    try:
        run(main())
    finally:
        release.set()


# -- 9. streaming under ASGI, message by message -------------------------------------------


def scope_for(path: str, method: str = "GET") -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000), "server": ("localhost", 80),
    }


async def call_asgi(handler, path, *, on_body=None, disconnect=None):
    """Send one request to ``handler``; returns its messages. ``on_body(message)`` runs as
    each body message arrives; the client disconnects once ``disconnect`` (an Event) is set."""
    messages: list[dict] = []
    done = asyncio.Event()
    body_sent = False

    async def receive():
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await (disconnect or done).wait()
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and on_body is not None:
            on_body(message)

    try:
        await within(handler(scope_for(path), receive, send))
    finally:
        done.set()
    return messages


def bodies(messages):
    return [m.get("body", b"") for m in messages if m["type"] == "http.response.body"]


def test_an_async_stream_is_sent_chunk_by_chunk():
    release = asyncio.Event()
    progress = []

    async def stream(request):
        async def body():
            progress.append("first")
            yield b"first"
            await within(release.wait())  # only once the first chunk was sent
            progress.append("second")
            yield b"second"
            progress.append("done")

        return djng.StreamingResponse(body())

    handler = djng.asgi(djng.Router(djng.path("", stream)))
    at_first_chunk = []

    def on_body(message):
        if message.get("body") == b"first":
            at_first_chunk.append(list(progress))
            release.set()

    messages = run(call_asgi(handler, "/", on_body=on_body))
    assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200
    assert at_first_chunk == [["first"]]  # the generator had not finished
    assert [(m.get("body"), m.get("more_body", False)) for m in messages[1:]] == [
        (b"first", True), (b"second", True), (b"", False),
    ]
    assert progress == ["first", "second", "done"]


def test_a_sync_stream_is_sent_chunk_by_chunk_from_its_worker_thread():
    gate = threading.Event()
    threads = []

    def stream(request):
        def body():
            threads.append(threading.current_thread())
            yield b"one"
            if not gate.wait(WAIT):  # set by the test once "one" was sent
                raise AssertionError("the first chunk was not sent before the second was asked")
            threads.append(threading.current_thread())
            yield b"two"

        return djng.StreamingResponse(body())

    async def other(request):
        return "async"

    handler = djng.asgi(djng.Router(djng.path("", stream), djng.path("other", other)))

    def on_body(message):
        if message.get("body") == b"one":
            gate.set()

    messages = run(call_asgi(handler, "/", on_body=on_body))
    assert bodies(messages) == [b"one", b"two", b""]
    assert len(set(threads)) == 1 and threads[0].name.startswith("djng-worker")


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_stream_keeps_one_context_across_its_chunks(kind):
    """A generator that sets a context variable across its yields (a ``with`` around
    them) sees it in every chunk and resets it at its end, under djng.asgi."""
    color = contextvars.ContextVar("color", default="none")

    def body():
        token = color.set("blue")
        try:
            for n in range(3):
                yield f"{n}{color.get()};".encode()
        finally:
            color.reset(token)  # a token from another context: ValueError

    async def abody():
        for chunk in body():
            await asyncio.sleep(0)
            yield chunk

    def stream(request):
        return djng.StreamingResponse(abody() if kind == "async" else body())

    messages = run(call_asgi(djng.asgi(djng.Router(djng.path("", stream))), "/"))
    assert bodies(messages) == [b"0blue;", b"1blue;", b"2blue;", b""]


class Closed:
    """Records a response's close: its resource closers and ``request_finished``."""

    def __init__(self):
        self.closers = 0

    def attach(self, response):
        def closer():
            self.closers += 1

        response._resource_closers.append(closer)
        return response


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_an_exception_mid_stream_is_reported_once_and_ends_the_response(kind, finished):
    closed = Closed()

    def body():
        yield b"partial"
        raise RuntimeError("mid-stream")

    async def abody():
        yield b"partial"
        await asyncio.sleep(0)
        raise RuntimeError("mid-stream")

    async def stream(request):
        return closed.attach(djng.StreamingResponse(abody() if kind == "async" else body()))

    handler = djng.asgi(djng.Router(djng.path("", stream)))
    recorder = Recorder()
    messages = []

    async def main():
        with djng.errors.use(recorder):
            await call_asgi(handler, "/", on_body=messages.append)

    with pytest.raises(RuntimeError, match="mid-stream"):
        run(main())
    assert [m.get("body") for m in messages] == [b"partial"]  # no final empty body
    assert [str(exc) for exc in recorder.exceptions] == ["mid-stream"]
    assert closed.closers == 1 and len(finished) == 1


def test_a_client_that_disconnects_cancels_the_async_stream_and_the_response_is_closed(
    finished,
):
    closed = Closed()
    state = {"finally": False, "cancelled": False}
    first_sent = asyncio.Event()

    async def stream(request):
        async def body():
            try:
                yield b"first"
                await asyncio.sleep(WAIT * 10)  # until the client leaves
                yield b"never"
            except asyncio.CancelledError:
                state["cancelled"] = True
                raise
            finally:
                state["finally"] = True

        return closed.attach(djng.StreamingResponse(body()))

    handler = djng.asgi(djng.Router(djng.path("", stream)))

    def on_body(message):
        if message.get("body") == b"first":
            first_sent.set()

    messages = run(call_asgi(handler, "/", on_body=on_body, disconnect=first_sent))
    assert bodies(messages) == [b"first"]
    assert state == {"finally": True, "cancelled": True}
    assert closed.closers == 1 and len(finished) == 1


def test_a_client_that_leaves_a_sync_stream_ends_it_after_the_chunk_being_made(finished):
    """The thread making a chunk is in the request's context; the cancellation waits
    for it to leave (else: RuntimeError, cannot enter context) and the response is
    closed in that context (request_finished has a receiver: on the worker thread),
    so the generator's finally runs where its yields ran."""
    closed = Closed()
    state = {"chunks": 0, "finally": None}
    first_sent = threading.Event()
    gone = asyncio.Event()
    color = contextvars.ContextVar("color", default="none")

    def stream(request):
        def body():
            token = color.set("blue")
            try:
                while True:
                    state["chunks"] += 1
                    yield b"tick"
                    first_sent.wait(WAIT)
                    time.sleep(0.02)  # a chunk being made when the client leaves
            finally:
                state["finally"] = color.get()
                color.reset(token)  # a token from another context: ValueError, unseen
                state["reset"] = True

        return closed.attach(djng.StreamingResponse(body()))

    handler = djng.asgi(djng.Router(djng.path("", stream)))

    def on_body(message):
        if message.get("body") == b"tick" and not first_sent.is_set():
            first_sent.set()
            asyncio.get_running_loop().call_later(0.01, gone.set)

    messages = run(call_asgi(handler, "/", on_body=on_body, disconnect=gone))
    assert bodies(messages)[:1] == [b"tick"] and b"" not in bodies(messages)
    assert state["finally"] == "blue" and state["reset"] is True
    assert closed.closers == 1 and len(finished) == 1


def test_an_async_stream_left_in_the_middle_of_a_send_is_closed_in_its_context(finished):
    """The client leaves while a chunk is being sent (a slow client: the server's
    send waits): the stream is closed then, in the context it ran in, before the
    request ends, not later by the garbage collector."""
    color = contextvars.ContextVar("color", default="none")
    log = []
    gone = asyncio.Event()

    async def stream(request):
        async def body():
            token = color.set("blue")
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0)
            finally:
                log.append(("finally", color.get()))
                color.reset(token)
                log.append("reset")

        return djng.StreamingResponse(body())

    handler = djng.asgi(djng.Router(djng.path("", stream)))

    async def main():
        sent = 0
        stuck = asyncio.Event()  # never set: the write never drains
        receive_calls = 0

        async def receive():
            nonlocal receive_calls
            receive_calls += 1
            if receive_calls == 1:
                return {"type": "http.request", "body": b""}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += 1
                if sent == 3:
                    gone.set()
                    await stuck.wait()

        await within(handler(scope_for("/"), receive, send))
        log.append("request ended")

    run(main())
    assert log == [("finally", "blue"), "reset", "request ended"]
    assert len(finished) == 1


def test_a_second_cancellation_while_the_stream_ends_leaves_nothing_behind(finished):
    """The client left, and while the stream's own ending still runs the request is
    cancelled again (a server shutting down): the request waits for the stream to
    end before it is closed, ends cancelled, and leaves no task or unread error."""
    log = []
    gone = asyncio.Event()

    async def stream(request):
        async def body():
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.005)
            finally:
                log.append("ending")
                await asyncio.sleep(0.1)  # e.g. unsubscribing over the network
                log.append("ended")
                raise RuntimeError("failed while ending")  # nobody is left to tell

        return djng.StreamingResponse(body())

    handler = djng.asgi(djng.Router(djng.path("", stream)))

    async def main():
        loop = asyncio.get_running_loop()
        problems = []
        loop.set_exception_handler(lambda loop, context: problems.append(context["message"]))
        first = True
        signals.request_finished.connect(lambda **kw: log.append("finished"), weak=False,
                                         dispatch_uid="second-cancel")

        async def receive():
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b""}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message.get("body") == b"tick":
                gone.set()

        before = asyncio.all_tasks()
        task = asyncio.ensure_future(handler(scope_for("/"), receive, send))
        try:
            await within(gone.wait())
            await asyncio.sleep(0.03)  # the stream is ending
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await within(task)
        finally:
            signals.request_finished.disconnect(dispatch_uid="second-cancel")
        await asyncio.sleep(0.2)  # a task left behind would end (and fail) meanwhile
        return asyncio.all_tasks() - before, problems

    others, problems = run(main())
    assert log == ["ending", "ended", "finished"]
    assert others == set() and problems == []


def test_run_in_cancelled_before_its_thread_is_free_skips_the_call_unless_it_must_finish():
    """A call queued behind another on the request's thread is dropped when the
    request is cancelled; one made with ``finish=True`` (closing a response) runs
    anyway, and the cancellation lands after it."""
    from djng import workers

    pool = workers.WorkerPool(1)
    gate = threading.Event()
    ran = []

    async def main():
        worker = pool.request_worker()
        busy = asyncio.ensure_future(
            workers.run_in(worker, contextvars.copy_context(), gate.wait, WAIT))
        await asyncio.sleep(0.05)  # the thread is busy
        dropped = asyncio.ensure_future(
            workers.run_in(worker, contextvars.copy_context(), ran.append, "dropped"))
        finished = asyncio.ensure_future(workers.run_in(
            worker, contextvars.copy_context(), ran.append, "finished", finish=True))
        await asyncio.sleep(0.05)  # both queued behind it
        dropped.cancel()
        finished.cancel()
        gate.set()
        assert await within(busy) is True
        outcomes = await within(asyncio.gather(dropped, finished, return_exceptions=True))
        worker.release()
        return outcomes

    try:
        outcomes = run(main())
    finally:
        pool.close()
    assert [type(outcome) for outcome in outcomes] == [asyncio.CancelledError] * 2
    assert ran == ["finished"]


def test_a_client_that_leaves_while_waiting_for_the_thread_never_runs_its_view():
    """One worker thread, held by a stream; a second request waits for it, and its
    client leaves: its call is taken off the queue, so its view never runs."""
    ran = []
    gate = threading.Event()

    def hold(request):
        def body():
            yield b"held"
            gate.wait(WAIT)
            yield b"released"

        return djng.StreamingResponse(body())

    def view(request):
        ran.append("view")
        return "ran"

    handler = djng.asgi(djng.Router(djng.path("hold", hold), djng.path("view", view)), threads=1)

    async def main():
        held_first = asyncio.Event()
        gone = asyncio.Event()

        def on_body(message):
            if message.get("body") == b"held":
                held_first.set()

        holding = asyncio.ensure_future(call_asgi(handler, "/hold", on_body=on_body))
        await within(held_first.wait())
        waiting = asyncio.ensure_future(call_asgi(handler, "/view", disconnect=gone))
        await asyncio.sleep(0.05)  # queued for the thread
        gone.set()
        assert await within(waiting) == []
        gate.set()
        assert bodies(await within(holding)) == [b"held", b"released", b""]
        assert bodies(await call_asgi(handler, "/view")) == [b"ran"]  # the thread is back

    run(main())
    assert ran == ["view"]  # the second request's only


def test_a_client_that_leaves_during_a_sync_apps_view_lets_it_finish_and_closes_it(finished):
    """A sync app is answered on the worker thread in the request's context: the
    client leaving meanwhile waits for the view, sends nothing, closes the request
    and gives the thread back."""
    started = threading.Event()

    def slow(request):
        started.set()
        time.sleep(0.1)
        return "late"

    handler = djng.asgi(djng.Router(djng.path("", slow)), threads=1)

    async def main():
        gone = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, lambda: started.wait(WAIT) and loop.call_soon_threadsafe(
            gone.set))
        first = await call_asgi(handler, "/", disconnect=gone)
        second = await call_asgi(handler, "/")  # the only thread was given back
        return first, second

    first, second = run(main())
    assert first == []
    assert bodies(second) == [b"late"]
    assert len(finished) == 2


def test_a_client_that_disconnects_cancels_a_waiting_async_view():
    state = {}

    async def slow(request):
        try:
            await asyncio.sleep(WAIT * 10)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return "never"

    handler = djng.asgi(djng.Router(djng.path("", slow)))

    async def main():
        messages = []
        body_sent = False

        async def receive():
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": b""}
            await asyncio.sleep(0.05)
            return {"type": "http.disconnect"}

        async def send(message):
            messages.append(message)

        await within(handler(scope_for("/"), receive, send))
        return messages

    assert run(main()) == []
    assert state == {"cancelled": True}


def test_head_and_plain_bodies_over_raw_asgi():
    async def page(request):
        return "a page"

    handler = djng.asgi(djng.Router(djng.path("", page)))

    async def main():
        get = await call_asgi(handler, "/")
        messages = []

        async def receive():
            return {"type": "http.request", "body": b""} if not messages else await asyncio.Future()

        async def send(message):
            messages.append(message)

        await within(handler(scope_for("/", "HEAD"), receive, send))
        return get, messages

    get, head = run(main())
    assert bodies(get) == [b"a page"]
    assert dict(get[0]["headers"])[b"Content-Length"] == b"6"
    assert head[0]["status"] == 200 and bodies(head) == [b""]


# -- 10. lifespan -----------------------------------------------------------------------------


def lifespan_app(events: list, *, fail: bool = False):
    @contextlib.asynccontextmanager
    async def pool():
        events.append("pool open")
        if fail:
            raise ConnectionError("no pool")
        yield
        events.append("pool closed")

    async def view(request):
        return {"events": list(events)}

    app = djng.Router(djng.path("", view))
    djng.lifespan(app, pool)
    djng.lifespan(app, startup=lambda: events.append("startup"),
                  shutdown=lambda: events.append("shutdown"))
    return app


def test_async_with_async_client_runs_start_up_then_shutdown():
    events: list = []

    async def main():
        async with AsyncClient(lifespan_app(events)) as client:
            assert events == ["pool open", "startup"]
            response = await within(client.get("/"))
            assert response.json() == {"events": ["pool open", "startup"]}
        return events

    assert run(main()) == ["pool open", "startup", "shutdown", "pool closed"]


def test_with_client_runs_start_up_then_shutdown():
    events: list = []
    with testing.Client(lifespan_app(events)) as client:
        assert client.get("/").json() == {"events": ["pool open", "startup"]}
        assert client.get("/").json() == {"events": ["pool open", "startup"]}  # once
    assert events == ["pool open", "startup", "shutdown", "pool closed"]


def test_start_up_runs_before_the_first_request_without_lifespan_events():
    events: list = []
    handler = djng.asgi(lifespan_app(events))

    async def main():
        get = await call_asgi(handler, "/")
        again = await call_asgi(handler, "/")
        await within(handler.shutdown())
        return get, again

    first, again = run(main())
    assert bodies(first)[0] == b'{"events": ["pool open", "startup"]}'
    assert bodies(again)[0] == bodies(first)[0]
    assert events == ["pool open", "startup", "shutdown", "pool closed"]


async def drive_lifespan(handler, *, shutdown: bool = True):
    """The ASGI lifespan protocol by hand: what the app sends, and how it ended."""
    inbox: asyncio.Queue = asyncio.Queue()
    sent: list[dict] = []
    replied = asyncio.Event()

    async def send(message):
        sent.append(message)
        replied.set()

    task = asyncio.ensure_future(handler({"type": "lifespan", "asgi": {"version": "3.0"}},
                                         inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await within(replied.wait())
    if shutdown and sent[-1]["type"] == "lifespan.startup.complete":
        replied.clear()
        await inbox.put({"type": "lifespan.shutdown"})
        await within(replied.wait())
    try:
        await within(task)
    except Exception as exc:  # noqa: BLE001 - what the app raised is the outcome
        return sent, exc
    return sent, None


def test_the_asgi_lifespan_protocol_by_hand():
    events: list = []
    handler = djng.asgi(lifespan_app(events))
    sent, raised = run(drive_lifespan(handler))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    assert raised is None
    assert events == ["pool open", "startup", "shutdown", "pool closed"]


def test_a_failing_start_up_sends_startup_failed():
    events: list = []
    handler = djng.asgi(lifespan_app(events, fail=True))
    sent, raised = run(drive_lifespan(handler))
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "no pool" in sent[0]["message"]
    assert isinstance(raised, ConnectionError)
    assert events == ["pool open"]  # the startup= hook after it never ran


def test_a_router_gathers_the_lifespan_hooks_of_the_apps_it_mounts():
    events: list = []

    def hooks(name):
        @contextlib.asynccontextmanager
        async def hook():
            events.append(f"{name} up")
            yield
            events.append(f"{name} down")

        return hook

    async def view(request):
        return "ok"

    api = djng.lifespan(djng.Router(djng.path("", view)), hooks("api"))
    sync_api = djng.lifespan(djng.Router(djng.path("", sync_view)), hooks("sync"))
    wrapped = djng.reconfigure(api, cache=djng.cache.LocMem())
    app = djng.Router(djng.mount("api", wrapped), djng.mount("sync", sync_api),
                      djng.path("", view))

    async def main():
        async with AsyncClient(app) as client:
            assert sorted(events) == ["api up", "sync up"]
            assert (await within(client.get("/api/"))).text == "ok"
            assert (await within(client.get("/sync/"))).json()["sync"] is True

    run(main())
    assert sorted(events[:2]) == ["api up", "sync up"]
    assert events[2:] == [f"{e.split()[0]} down" for e in reversed(events[:2])]


# -- 11. the blocked-loop watch -------------------------------------------------------------


@pytest.mark.parametrize("events", ["lifespan events", "no lifespan events"])
def test_an_async_view_that_blocks_the_loop_is_reported_with_its_line(
    events, monkeypatch, caplog
):
    import inspect

    monkeypatch.setenv("DJNG_BLOCKED_LOOP_SECONDS", "0.5")

    async def blocking(request):
        time.sleep(1.5)  # the mistake the watch is for
        return "finally"

    async def fine(request):
        return "fine"

    line = inspect.getsourcelines(blocking)[1] + 1
    handler = djng.asgi(djng.Router(djng.path("block", blocking), djng.path("fine", fine)))

    async def main():
        if events == "lifespan events":  # as uvicorn: start-up, the requests, shutdown
            inbox: asyncio.Queue = asyncio.Queue()
            sent: asyncio.Queue = asyncio.Queue()
            served = asyncio.ensure_future(handler({"type": "lifespan"}, inbox.get, sent.put))
            await inbox.put({"type": "lifespan.startup"})
            assert (await within(sent.get()))["type"] == "lifespan.startup.complete"
        assert bodies(await call_asgi(handler, "/fine")) == [b"fine"]
        messages = await call_asgi(handler, "/block")
        if events == "lifespan events":
            await inbox.put({"type": "lifespan.shutdown"})
            assert (await within(sent.get()))["type"] == "lifespan.shutdown.complete"
            await within(served)
        return messages

    with caplog.at_level(logging.WARNING, logger="djng.asgi"):
        messages = run(main())
    assert bodies(messages) == [b"finally"]
    warnings = [r for r in caplog.records if r.name == "djng.asgi"]
    assert warnings, "the blocked loop was not reported"
    message = warnings[0].getMessage()
    assert "the event loop has been blocked" in message
    assert f'{__file__}", line {line}, in blocking' in message
    assert "time.sleep(1.5)" in message


# -- 12. async views under WSGI, through a WSGI server's eyes --------------------------------


def test_async_views_through_djng_wsgi_and_werkzeugs_client():
    from werkzeug.test import Client as WerkzeugClient

    progress = []

    async def stream(request):
        async def body():
            for word in ("one", "two", "three"):
                progress.append(word)
                await asyncio.sleep(0)
                yield word.encode()

        return djng.StreamingResponse(body())

    app = djng.Router(
        djng.path("", hello),
        djng.path("items/<int:pk>/<slug:slug>", item),
        djng.path("thing", {"GET": async_get, "POST": sync_view}),
        djng.path("missing", missing),
        djng.path("stream", stream),
    )
    client = WerkzeugClient(djng.wsgi(app))
    response = client.get("/")
    assert (response.status_code, response.data) == (200, b"hello")
    assert client.get("/items/3/x").get_json()["pk"] == 3
    assert client.get("/thing").get_json() == {"async": True, "method": "GET"}
    assert client.post("/thing").get_json() == {"sync": True, "method": "POST"}
    assert client.get("/missing").status_code == 404
    response = client.get("/stream", buffered=False)
    chunks = iter(response.response)
    assert next(chunks) == b"one"
    assert progress == ["one"]  # the next chunk is not made before it is asked for
    assert next(chunks) == b"two"
    assert progress == ["one", "two"]
    assert list(chunks) == [b"three"]
    response.close()
