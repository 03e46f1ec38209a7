"""Middleware as app -> app: gzip, errors(), and Django middleware classes."""

from __future__ import annotations

import gzip as gzip_module
import json
import logging

import pytest
from django.middleware.common import CommonMiddleware
from django.middleware.gzip import GZipMiddleware
from django.middleware.security import SecurityMiddleware
from django.template import Context, Engine
from django.template.response import SimpleTemplateResponse

import djng
from djng.testing import Client

LONG = "All work and no play makes Jack a dull boy. " * 20  # well over 200 bytes


def text(body):
    return lambda request, *args, **kwargs: djng.Response(body)


def boom(request, *args, **kwargs):
    raise ValueError("boom")


# -- gzip ------------------------------------------------------------------------


def test_gzip_compresses_large_bodies_for_clients_that_accept_it():
    client = Client(djng.gzip(djng.Router(djng.path("long", text(LONG)))))
    response = client.get("/long", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert len(response.content) < len(LONG)
    assert gzip_module.decompress(response.content).decode() == LONG


def test_gzip_leaves_other_clients_and_small_bodies_alone():
    client = Client(
        djng.gzip(djng.Router(djng.path("long", text(LONG)), djng.path("s", text("s"))))
    )
    plain = client.get("/long")
    assert not plain.has_header("Content-Encoding")
    assert plain.content.decode() == LONG
    small = client.get("/s", headers={"Accept-Encoding": "gzip"})
    assert not small.has_header("Content-Encoding")
    assert small.content == b"s"


def test_gzip_wraps_a_plain_view_and_streams():
    def stream(request):
        return djng.StreamingResponse(chunk.encode() for chunk in [LONG, LONG])

    response = Client(djng.gzip(stream)).get("/", headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert gzip_module.decompress(b"".join(response.streaming_content)).decode() == LONG * 2


def test_gzip_over_wsgi():
    from werkzeug.test import Client as WerkzeugClient

    handler = djng.wsgi(djng.gzip(text(LONG)))
    response = WerkzeugClient(handler).get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert gzip_module.decompress(response.data).decode() == LONG


def test_middleware_function_is_same_as_gzip():
    app = djng.middleware(GZipMiddleware)(text(LONG))
    response = Client(app).get("/", headers={"Accept-Encoding": "gzip"})
    assert gzip_module.decompress(response.content).decode() == LONG


# -- errors() ----------------------------------------------------------------------


def api_not_found(request, exc):
    problem = {"type": "about:blank", "title": "No such API", "status": 404, "detail": str(exc)}
    return (problem, 404, {"Content-Type": "application/problem+json"})


def api_server_error(request, exc):
    return djng.Response(f"api failed: {type(exc).__name__}: {exc}", status=500)


def build_site():
    api = djng.errors(
        djng.Router(djng.path("ok", text("api ok")), djng.path("boom", boom)),
        not_found=api_not_found,
        server_error=api_server_error,
    )
    web = djng.Router(djng.path("page", text("page")), djng.path("boom", boom))
    return djng.Router(djng.mount("api", api), djng.mount("web", web), djng.path("", text("home")))


def test_custom_404_for_a_mounted_subtree():
    client = Client(build_site())
    response = client.get("/api/missing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "No such API"
    assert "/api/missing" in problem["detail"]
    assert client.get("/api/ok").content == b"api ok"


def test_subtree_404_does_not_affect_siblings_or_the_parent():
    client = Client(build_site())
    for url in ("/web/missing", "/missing"):
        response = client.get(url, headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
        assert b"No such API" not in response.content


def test_custom_500_receives_request_and_exception(caplog):
    caplog.set_level(logging.ERROR, logger="djng.request")
    client = Client(build_site(), raise_exceptions=False)
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.content == b"api failed: ValueError: boom"
    # Still reported, with the traceback.
    records = [r for r in caplog.records if r.name == "djng.request"]
    assert len(records) == 1 and records[0].exc_info[0] is ValueError
    sibling = client.get("/web/boom")
    assert sibling.status_code == 500
    assert b"api failed" not in sibling.content


def test_error_views_that_take_only_the_request():
    app = djng.errors(
        djng.Router(djng.path("boom", boom)),
        not_found=lambda request: f"nothing at {request.path}",
        server_error=lambda request: "sorry",
    )
    client = Client(app, raise_exceptions=False)
    missing = client.get("/x")
    assert (missing.status_code, missing.content) == (404, b"nothing at /x")
    failed = client.get("/boom")
    assert (failed.status_code, failed.content) == (500, b"sorry")


def test_errors_as_a_decorator_for_the_whole_app():
    @djng.errors(not_found=lambda request, exc: ("custom missing", 404))
    def site(request):
        raise djng.Http404("nope")

    response = Client(site).get("/")
    assert (response.status_code, response.content) == (404, b"custom missing")


def test_errors_leaves_client_errors_other_than_404_alone():
    from django.core.exceptions import PermissionDenied

    def forbidden(request):
        raise PermissionDenied

    app = djng.errors(forbidden, not_found=lambda r: "nf", server_error=lambda r: "se")
    assert Client(app).get("/").status_code == 403


def test_errors_with_debug_shows_the_technical_page(debug_on):
    app = djng.errors(boom, server_error=lambda request: "custom")
    response = Client(app, raise_exceptions=False).get("/", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert b"custom" not in response.content
    assert b"ValueError" in response.content


def test_errors_needs_a_view():
    with pytest.raises(TypeError):
        djng.errors(text("x"))
    with pytest.raises(TypeError):
        djng.errors(text("x"), not_found="not a view")


def test_reverse_reaches_into_a_router_wrapped_by_errors():
    inner = djng.errors(
        djng.Router(
            djng.path("items/<int:id>", text("item"), name="item"),
            djng.path("where", lambda request: djng.reverse("item", kwargs={"id": 2})),
        ),
        not_found=lambda request: "nf",
    )
    site = djng.Router(djng.mount("api", inner))
    assert Client(site).get("/api/where").content == b"/api/items/2"


# -- Django middleware classes -----------------------------------------------------


def test_common_middleware_appends_a_slash():
    site = djng.Router(djng.path("docs/", text("docs")), djng.path("exact", text("exact")))
    client = Client(djng.middleware(CommonMiddleware)(site))
    redirect = client.get("/docs?x=1")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/docs/?x=1"
    assert client.get("/docs/").content == b"docs"
    assert client.get("/exact").content == b"exact"
    assert client.get("/missing").status_code == 404
    followed = client.get("/docs", follow=True)
    assert followed.content == b"docs"


def test_common_middleware_options_are_not_needed_for_other_features():
    # Without the middleware, no redirect happens: the slash logic comes from the class.
    site = djng.Router(djng.path("docs/", text("docs")))
    assert Client(site).get("/docs").status_code == 404


def test_security_middleware_sets_headers():
    client = Client(djng.middleware(SecurityMiddleware)(text("secure")))
    response = client.get("/")
    assert response.content == b"secure"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_django_middleware_sees_error_responses():
    # The wrapped app always hands back a response, so process_response runs on errors too.
    client = Client(djng.middleware(SecurityMiddleware)(djng.Router()))
    response = client.get("/nothing")
    assert response.status_code == 404
    assert response["X-Content-Type-Options"] == "nosniff"


def test_middleware_options_are_passed_to_the_class():
    class Tagging:
        def __init__(self, get_response, tag="default"):
            self.get_response = get_response
            self.tag = tag

        def __call__(self, request):
            response = self.get_response(request)
            response["X-Tag"] = self.tag
            return response

    assert Client(djng.middleware(Tagging, tag="given")(text("x"))).get("/")["X-Tag"] == "given"
    assert Client(djng.middleware(Tagging)(text("x"))).get("/")["X-Tag"] == "default"


def test_middleware_needs_a_class():
    with pytest.raises(TypeError):
        djng.middleware("django.middleware.gzip.GZipMiddleware")


def test_settings_given_as_middleware_options_point_to_djng_settings():
    from django.middleware.common import CommonMiddleware

    with pytest.raises(TypeError, match=r"APPEND_SLASH are settings.*djng.settings\(APPEND_SLASH"):
        djng.middleware(CommonMiddleware, APPEND_SLASH=False)


# -- view hooks --------------------------------------------------------------------


class Tpl:
    """A backend-style template built from a bare Engine (no TEMPLATES setting needed)."""

    def __init__(self, source):
        self.template = Engine().from_string(source)

    def render(self, context=None, request=None):
        return self.template.render(Context(context or {}))


def recording(tag, log, handle_exceptions=False, short_circuit=False):
    class Recording:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            log.append(f"{tag}:call")
            response = self.get_response(request)
            log.append(f"{tag}:return")
            return response

        def process_view(self, request, view, args, kwargs):
            log.append(f"{tag}:view:{view.__name__}:{kwargs}")
            if short_circuit:
                return djng.Response(f"short-circuited by {tag}")
            return None

        def process_exception(self, request, exception):
            log.append(f"{tag}:exception:{exception}")
            if handle_exceptions:
                return djng.Response(f"handled by {tag}", status=418)
            return None

        def process_template_response(self, request, response):
            log.append(f"{tag}:template")
            response.context_data["seen"] = response.context_data.get("seen", "") + tag + ";"
            return response

    return Recording


def page(request, n):
    return SimpleTemplateResponse(Tpl("n={{ n }} seen={{ seen }}"), {"n": n})


def test_view_hooks_run_around_the_view_the_router_picked():
    log = []
    site = djng.Router(djng.path("page/<int:n>", page), djng.path("boom", boom))
    app = djng.middleware(recording("outer", log))(djng.middleware(recording("inner", log))(site))
    response = Client(app).get("/page/5")
    assert response.content == b"n=5 seen=inner;outer;"
    assert log == [
        "outer:call",
        "inner:call",
        "outer:view:page:{'n': 5}",
        "inner:view:page:{'n': 5}",
        "inner:template",
        "outer:template",
        "inner:return",
        "outer:return",
    ]


def test_process_exception_runs_in_reverse_and_the_first_response_wins():
    log = []
    site = djng.Router(djng.path("boom", boom))
    app = djng.middleware(recording("outer", log, handle_exceptions=True))(
        djng.middleware(recording("inner", log))(site)
    )
    response = Client(app).get("/boom")
    assert (response.status_code, response.content) == (418, b"handled by outer")
    assert log == [
        "outer:call",
        "inner:call",
        "outer:view:boom:{}",
        "inner:view:boom:{}",
        "inner:exception:boom",
        "outer:exception:boom",
        "inner:return",
        "outer:return",
    ]


def test_inner_handler_stops_outer_process_exception():
    log = []
    app = djng.middleware(recording("outer", log, handle_exceptions=True))(
        djng.middleware(recording("inner", log, handle_exceptions=True))(
            djng.Router(djng.path("b", boom))
        )
    )
    assert Client(app).get("/b").content == b"handled by inner"
    assert "outer:exception:boom" not in log


def test_unhandled_exception_after_hooks_is_a_500(caplog):
    log = []
    app = djng.middleware(recording("only", log))(djng.Router(djng.path("b", boom)))
    response = Client(app, raise_exceptions=False).get("/b")
    assert response.status_code == 500
    assert "only:exception:boom" in log
    assert log[-1] == "only:return"


def test_process_view_can_short_circuit():
    log = []
    called = []
    site = djng.Router(djng.path("v", lambda request: called.append(1) or "view"))
    app = djng.middleware(recording("outer", log, short_circuit=True))(
        djng.middleware(recording("inner", log))(site)
    )
    response = Client(app).get("/v")
    assert response.content == b"short-circuited by outer"
    assert called == []
    assert "inner:view:<lambda>:{}" not in log


def test_view_hooks_reach_through_a_mounted_router_once():
    log = []
    api = djng.Router(djng.path("page/<int:n>", page), djng.path("boom", boom))
    inner_wrapped = djng.middleware(recording("inner", log))(api)
    site = djng.Router(djng.mount("api", inner_wrapped))
    app = djng.middleware(recording("outer", log, handle_exceptions=True))(site)
    client = Client(app)
    response = client.get("/api/page/7")
    assert response.content == b"n=7 seen=inner;outer;"
    assert log.count("outer:view:page:{'n': 7}") == 1
    assert log.count("inner:view:page:{'n': 7}") == 1
    assert log.index("outer:view:page:{'n': 7}") < log.index("inner:view:page:{'n': 7}")
    assert log.index("inner:template") < log.index("outer:template")
    log.clear()
    response = client.get("/api/boom")
    assert response.content == b"handled by outer"
    assert log.index("inner:exception:boom") < log.index("outer:exception:boom")


def test_view_hooks_around_a_plain_view():
    log = []
    app = djng.middleware(recording("only", log))(lambda request: page(request, 1))
    assert Client(app).get("/").content == b"n=1 seen=only;"
    assert log == ["only:call", "only:view:<lambda>:{}", "only:template", "only:return"]


def test_process_template_response_returning_none_is_an_error():
    class Broken:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            return self.get_response(request)

        def process_template_response(self, request, response):
            return None

    app = djng.middleware(Broken)(djng.Router(djng.path("p/<int:n>", page)))
    with pytest.raises(ValueError, match="Broken.process_template_response"):
        Client(app).get("/p/1")


def test_template_response_is_rendered_without_middleware():
    response = Client(djng.Router(djng.path("p/<int:n>", page))).get("/p/3")
    assert response.content == b"n=3 seen="


def test_error_page_json_problem_through_gzip():
    site = djng.gzip(djng.Router())
    response = Client(site).get("/x", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert json.loads(response.content)["status"] == 404


def test_common_middleware_inside_a_mounted_subtree_resolves_against_that_subtree():
    api = djng.middleware(CommonMiddleware)(djng.Router(djng.path("items/", text("api items"))))
    site = djng.Router(djng.mount("api", api), djng.path("y/", text("outer y")))
    client = Client(site)
    redirect = client.get("/api/items")
    assert (redirect.status_code, redirect["Location"]) == (301, "/api/items/")
    assert client.get("/api/items/").content == b"api items"
    # 'y/' exists only in the parent Router: no redirect to a page that does not exist.
    assert client.get("/api/y").status_code == 404


def test_route_captures_reach_an_app_wrapped_in_middleware():
    def show(request, **kwargs):
        return kwargs

    inner = djng.Router(djng.path("posts/<int:post>", show))
    site = djng.Router(
        djng.path("users/<int:user>/", djng.middleware(SecurityMiddleware)(inner)),
        djng.path("gz/<int:user>/", djng.gzip(inner)),
        djng.path("view/<int:user>", djng.middleware(SecurityMiddleware)(show)),
    )
    client = Client(site)
    assert client.get("/users/5/posts/6").json() == {"user": 5, "post": 6}
    assert client.get("/gz/7/posts/8").json() == {"user": 7, "post": 8}
    assert client.get("/view/3").json() == {"user": 3}


def test_a_failing_error_view_still_gives_a_500():
    def broken_500(request, exc):
        raise RuntimeError("the error page failed too")

    app = djng.errors(boom, server_error=broken_500)
    response = Client(app, raise_exceptions=False).get("/", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
