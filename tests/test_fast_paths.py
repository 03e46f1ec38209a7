"""The per-request fast paths answer exactly as the plain ones would.

- A Router tries only the routes whose fixed first path segment can match, so
  its choice must equal a linear scan over every route in order.
- djng.wsgi() hands a plain response's chunks to the server as they are; the
  response is still closed in the request's context, and anything else is
  iterated in it.
- A Router served directly (or mounted in a Router) skips the "is a urlconf
  set?" check; reverse() must still see it.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest
from django.core.signals import request_finished
from django.http import HttpResponse
from django.urls import get_urlconf
from werkzeug.test import EnvironBuilder

import djng
from djng.testing import Client


def named(name):
    def view(request, *args, **kwargs):
        return {"view": name, "args": list(args), "kwargs": {k: str(v) for k, v in kwargs.items()}}

    view.__name__ = name
    return view


ROUTES = [
    djng.path("users/<int:id>", named("user"), methods=["GET"]),
    djng.path("users/<int:id>", named("user-post"), methods=["POST"]),
    djng.path("users/me", named("me")),
    djng.path("<slug:any>/x", named("any-x")),
    djng.re_path(r"^users/(?P<name>[a-z]+)$", named("user-name")),
    djng.re_path(r"^us\.ers/(\d+)$", named("dotted")),
    djng.re_path(r"^files/?(?P<rest>.*)$", named("files-optional-slash")),
    djng.re_path(r"^api/v1/(?P<x>\d+)$|^legacy$", named("alternation")),
    djng.path("files/<path:p>", named("files-path")),
    djng.path("users<int:id>", named("users-glued")),
    djng.mount("mounted", djng.Router(djng.path("<int:n>", named("inner")))),
    djng.mount("api/v2", djng.Router(djng.path("ping", named("ping")))),
    djng.path("", named("root")),
    djng.re_path(r"^(?P<first>[^/]+)/(?P<second>[^/]+)$", named("two-segments")),
]

PATHS = [
    "/", "/users/1", "/users/me", "/users/bob", "/users", "/users1", "/users42", "/us.ers/7",
    "/usXers/7", "/files", "/filesabc", "/files/a/b", "/api/v1/3", "/legacy", "/api/v2/ping",
    "/mounted/5", "/mounted", "/mountedX/5", "/users/x", "/foo/x", "/foo/bar", "/a/b/c",
    "/nothing", "/users/1/extra",
]


def reference(routes, path, method):
    """What a linear scan over every route, in order, picks (the pre-index semantics)."""
    path = path[1:] if path.startswith("/") else path
    allowed = set()
    for route in routes:
        if route.match(path) is None:
            continue
        if route.methods is None or method in route.methods:
            return route.view.__name__ if not route.is_mount else "mounted", None
        allowed |= route.methods
    return None, allowed


@pytest.mark.parametrize("order", range(4))
def test_router_index_picks_what_a_linear_scan_picks(order):
    routes = list(ROUTES)
    if order:
        # Other definition orders too: precedence must follow the order given.
        random.Random(order).shuffle(routes)
    router = djng.Router(*routes)
    client = Client(router, headers={"Accept": "application/json"})
    for path, method in itertools.product(PATHS, ["GET", "POST"]):
        response = client.request(method, path)
        picked, allowed = reference(routes, path, method)
        if picked is None and allowed:
            assert response.status_code == 405, (path, method)
            assert {m.strip() for m in response["Allow"].split(",")} == allowed | {"OPTIONS"}
        elif picked is None:
            assert response.status_code == 404, (path, method, response.content)
        elif picked != "mounted":
            assert response.status_code == 200, (path, method, response.content)
            assert response.json()["view"] == picked, (path, method)


def test_router_index_keys_only_fixed_first_segments():
    segments = {route.source: route.segment for route in ROUTES}
    assert segments["djng.path('users/<int:id>')"] == "users"
    assert segments["djng.path('<slug:any>/x')"] is None
    assert segments["djng.path('users<int:id>')"] is None
    assert segments["route '^us\\\\.ers/(\\\\d+)$'"] == "us.ers"
    assert segments["route '^files/?(?P<rest>.*)$'"] is None  # the slash is optional
    assert segments["route '^api/v1/(?P<x>\\\\d+)$|^legacy$'"] is None  # an alternation
    assert segments["djng.mount('mounted')"] == "mounted"
    assert segments["djng.mount('api/v2')"] == "api"


def call_wsgi(app, path="/", method="GET"):
    environ = EnvironBuilder(path=path, method=method).get_environ()
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    body = djng.wsgi(app)(environ, start_response)
    return seen, body


def test_a_plain_body_is_closed_in_the_requests_context():
    backend = djng.cache.LocMem("fast-paths")
    during_close = []

    def view(request):
        djng.cache.push(backend)
        return HttpResponse(b"chunk")

    def receiver(sender, **kwargs):
        during_close.append(djng.cache.current())

    request_finished.connect(receiver)
    try:
        seen, body = call_wsgi(djng.Router(djng.path("", view)))
        assert b"".join(body) == b"chunk"
        assert during_close == []
        body.close()
    finally:
        request_finished.disconnect(receiver)
    assert during_close == [backend]
    assert ("Content-Length", "5") in seen["headers"]


def test_a_response_with_its_own_iterator_is_iterated_in_the_requests_context():
    backend = djng.cache.LocMem("fast-paths-iter")
    seen_by_iter = []

    class Custom(HttpResponse):
        def __iter__(self):  # a generator: its steps run as the server iterates
            seen_by_iter.append(djng.cache.current())
            yield from super().__iter__()

    def view(request):
        djng.cache.push(backend)
        return Custom(b"custom")

    _, body = call_wsgi(djng.Router(djng.path("", view)))
    try:
        assert b"".join(body) == b"custom"
    finally:
        body.close()
    assert seen_by_iter == [backend]


def test_head_sends_headers_and_no_body():
    seen, body = call_wsgi(djng.Router(djng.path("", lambda request: "hello")), method="HEAD")
    try:
        assert list(body) == []
    finally:
        body.close()
    assert ("Content-Length", "5") in seen["headers"]


@pytest.mark.parametrize("wrap", [False, True])
def test_a_router_served_directly_or_wrapped_is_the_urlconf(wrap):
    def view(request):
        return {"urlconf": get_urlconf() is inner, "url": djng.reverse("here")}

    inner = djng.Router(djng.path("here", view, name="here"))
    app = inner
    if wrap:

        def app(request):
            return inner(request)

        app.__wrapped__ = inner
    seen, body = call_wsgi(app, "/here")
    try:
        assert json.loads(b"".join(body)) == {"urlconf": True, "url": "/here"}
    finally:
        body.close()


def test_mounted_routers_reverse_through_the_outer_router():
    def view(request):
        return {"url": djng.reverse("leaf"), "outer": get_urlconf() is outer}

    leaf = djng.Router(djng.path("c", view, name="leaf"))
    outer = djng.Router(djng.mount("a", djng.Router(djng.mount("b", leaf))))
    response = Client(outer).get("/a/b/c")
    assert response.json() == {"url": "/a/b/c", "outer": True}


def test_a_router_subclass_is_called_through_its_own_call():
    class Tagging(djng.Router):
        def __call__(self, request, *args, **kwargs):
            response = super().__call__(request, *args, **kwargs)
            response["X-Tagged"] = "yes"
            return response

    inner = Tagging(djng.path("x", lambda request: "inner"))
    for app, path in ((inner, "/x"), (djng.Router(djng.mount("m", inner)), "/m/x")):
        seen, body = call_wsgi(app, path)
        try:
            assert b"".join(body) == b"inner"
        finally:
            body.close()
        assert ("X-Tagged", "yes") in seen["headers"]


def test_the_urlconf_lives_in_a_plain_context_variable_with_the_same_semantics():
    """Django keeps it in an asgiref Local (1.2 us to set): djng swaps in a ContextVar."""
    import threading
    from contextvars import copy_context

    from django.urls import base, set_urlconf

    djng.wsgi(lambda request: "x")  # start-up swaps it
    assert type(base._urlconfs).__name__ == "_ContextValue"
    seen = {}

    def view(request):
        def look(name):
            seen[name] = get_urlconf()

        plain = threading.Thread(target=look, args=("plain thread",))
        plain.start()
        plain.join()
        djng.copy_current_context(look)("carried")
        return {"here": get_urlconf() is app}

    app = djng.Router(djng.path("", view))
    assert Client(app).get("/").json() == {"here": True}
    assert seen == {"plain thread": None, "carried": app}
    assert get_urlconf() is None  # nothing leaked into the caller's context
    ctx = copy_context()
    ctx.run(set_urlconf, app)
    assert ctx.run(get_urlconf) is app and get_urlconf() is None
    ctx.run(set_urlconf, None)
    assert ctx.run(get_urlconf) is None


def test_error_pages_negotiate_once_per_accept_header_and_stay_bounded():
    from djng import wire

    app = djng.Router()
    client = Client(app)
    for accept, kind in [
        ("application/json", "application/problem+json"),
        ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("image/png", "text/plain; charset=utf-8"),
        (";;;garbage", "text/plain; charset=utf-8"),
    ]:
        for _ in range(2):  # the second answer comes from the cache
            assert client.get("/x", headers={"Accept": accept})["Content-Type"] == kind
    for i in range(wire._PREFERRED_LIMIT + 10):
        client.get("/x", headers={"Accept": f"application/x-{i}"})
    assert len(wire._preferred) <= wire._PREFERRED_LIMIT


def _chain_app(order):
    """Routers nested five deep, with routes that compete with the mounts, in ``order``."""
    inner = djng.Router(djng.path("", named("leaf")), djng.path("x", named("leaf-x")))
    for name in "edcba":
        routes = [
            djng.mount(name, inner),
            djng.path(f"{name}/literal", named(f"{name}-literal")),
            djng.re_path(rf"^{name}/(?P<n>\d+)$", named(f"{name}-regex")),
            djng.path("<slug:any>/wild", named("wild")),
            djng.mount(f"{name}2", djng.Router(djng.path("", named(f"{name}2-leaf")))),
        ]
        inner = djng.Router(*[routes[i] for i in order])
    return inner


CHAIN_PATHS = [
    "/a/b/c/d/e", "/a/b/c/d/e/x", "/a/literal", "/a/5", "/a/b/literal", "/a/b/c/7",
    "/zz/wild", "/a/zz/wild", "/a2", "/a/b2", "/a/b/c/d/e/nothing", "/a", "/a/b/c/d", "/nothing",
]


@pytest.mark.parametrize("seed", range(6))
def test_nested_plain_routers_route_as_if_each_level_matched_in_turn(seed):
    """The shortcut through plain mounted Routers gives what matching each level gives."""
    order = list(range(5))
    random.Random(seed).shuffle(order)
    fast, slow = _chain_app(order), _chain_app(order)

    def without_shortcut(router):
        router._plain_mounts = {}
        for route in router.routes:
            if route.router is not None:
                without_shortcut(route.router)

    without_shortcut(slow)
    assert fast._plain_mounts or order.index(0) > order.index(3)  # the shortcut is exercised

    def answer(app, path):
        response = Client(app, headers={"Accept": "application/json"}).get(path)
        return response.status_code, response.content

    for path in CHAIN_PATHS:
        assert answer(fast, path) == answer(slow, path), path


def test_a_plain_mount_that_must_take_a_segment_is_taken_without_matching():
    leaf = djng.Router(djng.path("", named("leaf")))
    app = djng.Router(djng.mount("a", djng.Router(djng.mount("b", leaf))))
    assert set(app._plain_mounts) == {"a"}
    response = Client(app).get("/a/b")
    assert response.json()["view"] == "leaf"
    assert response.wsgi_request.path == "/a/b"


def test_settings_read_on_the_fast_path_follow_changes():
    from django.conf import settings

    from djng import _django

    assert _django.setting("FORCE_SCRIPT_NAME") is None
    app = djng.Router(djng.path("p", lambda request: {"path": request.path}))
    assert Client(app).get("/p").json() == {"path": "/p"}
    settings.FORCE_SCRIPT_NAME = "/prefix"
    try:
        assert _django.setting("FORCE_SCRIPT_NAME") == "/prefix"
        assert Client(app).get("/p").json() == {"path": "/prefix/p"}  # Django's constructor
    finally:
        settings.FORCE_SCRIPT_NAME = None
    assert _django.setting("FORCE_SCRIPT_NAME") is None
    assert Client(app).get("/p").json() == {"path": "/p"}


def test_a_request_without_a_body_skips_djangos_constructor_and_one_with_a_body_does_not(
    monkeypatch,
):
    from django.core.handlers.wsgi import WSGIRequest

    built = []
    original = WSGIRequest.__init__
    monkeypatch.setattr(WSGIRequest, "__init__",
                        lambda self, environ: built.append(1) or original(self, environ))
    app = djng.Router(djng.path("r", lambda request: {
        "path": request.path, "method": request.method, "body": request.body.decode(),
        "type": request.content_type, "get": dict(request.GET.items()),
    }))
    client = Client(app)
    assert client.get("/r", query={"q": "1"}).json() == {
        "path": "/r", "method": "GET", "body": "", "type": "", "get": {"q": "1"},
    }
    assert built == []  # the fast path
    posted = client.post("/r", data=b"payload", content_type="text/plain").json()
    assert (posted["body"], posted["type"]) == ("payload", "text/plain")
    assert built == [1]  # Django's constructor, for a body
