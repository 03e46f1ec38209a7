"""Router: tuples, path()/re_path(), mounting, methods, errors, reversing, precedence."""

from __future__ import annotations

import json

import pytest
from django.template import Context, Engine
from django.urls import NoReverseMatch

import djng
from djng.testing import Client

JSON = {"Accept": "application/json"}


def where(request, *args, **kwargs):
    """A view that reports what it saw."""
    return {
        "view": "where",
        "path": request.path,
        "path_info": request.path_info,
        "script_name": request.script_name,
        "META_SCRIPT_NAME": request.META.get("SCRIPT_NAME", ""),
        "META_PATH_INFO": request.META.get("PATH_INFO", ""),
        "args": list(args),
        "kwargs": kwargs,
    }


def text(body):
    return lambda request, *args, **kwargs: djng.Response(body)


# -- tuples and patterns ----------------------------------------------------------


def test_tuple_routes_match_the_path_without_its_leading_slash():
    app = djng.Router(
        (r"^hello$", text("Hello, world")),
        (r"^goodbye$", text("Goodbye, world"), "bye"),
    )
    client = Client(app)
    assert client.get("/hello").content == b"Hello, world"
    assert client.get("/goodbye").content == b"Goodbye, world"
    assert client.get("/hello/").status_code == 404
    assert client.get("/hellox").status_code == 404
    assert client.get("/").status_code == 404


def test_root_route():
    client = Client(djng.Router((r"^$", text("root")), djng.path("x", text("x"))))
    assert client.get("/").content == b"root"
    assert client.get("/x").content == b"x"


def test_path_converters_become_keyword_arguments():
    app = djng.Router(
        djng.path("users/<int:id>", where),
        djng.path("posts/<slug:slug>/<uuid:key>", where),
        djng.path("files/<path:rest>", where),
    )
    client = Client(app)
    assert client.get("/users/42").json()["kwargs"] == {"id": 42}
    assert client.get("/users/abc").status_code == 404
    seen = client.get("/posts/a-b/12345678-1234-5678-1234-567812345678").json()
    assert seen["kwargs"] == {"slug": "a-b", "key": "12345678-1234-5678-1234-567812345678"}
    assert client.get("/files/a/b/c.txt").json()["kwargs"] == {"rest": "a/b/c.txt"}


def test_int_converter_passes_an_int():
    seen = []
    app = djng.Router(djng.path("users/<int:id>", lambda request, id: seen.append(id) or "ok"))
    Client(app).get("/users/007")
    assert seen == [7]


def test_re_path_named_groups_are_keyword_arguments():
    app = djng.Router(djng.re_path(r"^archive/(?P<year>[0-9]{4})/(?P<month>[0-9]{2})$", where))
    client = Client(app)
    assert client.get("/archive/2024/05").json()["kwargs"] == {"year": "2024", "month": "05"}
    assert client.get("/archive/24/05").status_code == 404


def test_re_path_unnamed_groups_are_positional():
    app = djng.Router(djng.re_path(r"^pair/(\d+)-(\d+)$", where))
    assert Client(app).get("/pair/3-4").json()["args"] == ["3", "4"]


def test_regex_without_end_anchor_matches_a_prefix():
    app = djng.Router((r"^static", text("prefix")))
    assert Client(app).get("/static/css/site.css").content == b"prefix"


def test_regex_metacharacters_are_not_taken_literally():
    # '^a+$' must match 'a', 'aaa' and not 'a+' (the literal fast path must not apply).
    app = djng.Router(
        (r"^a+$", text("plus")),
        (r"^x\+y$", text("escaped plus")),
        (r"^a.c$", text("dot")),
        (r"^(?P<word>\w+)$", text("word")),
    )
    client = Client(app)
    assert client.get("/a").content == b"plus"
    assert client.get("/aaa").content == b"plus"
    assert client.get("/a+").status_code == 404
    assert client.get("/x+y").content == b"escaped plus"
    assert client.get("/abc").content == b"dot"
    assert client.get("/ab").content == b"word"


def test_escaped_dot_is_literal():
    app = djng.Router((r"^robots\.txt$", text("robots")))
    client = Client(app)
    assert client.get("/robots.txt").content == b"robots"
    assert client.get("/robotsXtxt").status_code == 404


def test_no_match_is_404_negotiated():
    app = djng.Router((r"^hello$", text("hi")))
    client = Client(app)
    problem = client.get("/missing", headers=JSON)
    assert problem.status_code == 404
    assert problem["Content-Type"] == "application/problem+json"
    body = json.loads(problem.content)
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert "/missing" in body["detail"]
    html = client.get("/missing", headers={"Accept": "text/html"})
    assert html["Content-Type"].startswith("text/html") and b"Not Found" in html.content
    plain = client.get("/missing", headers={"Accept": "text/csv"})
    assert plain["Content-Type"].startswith("text/plain")
    assert plain.content.startswith(b"404 Not Found")
    # curl's */*, and no Accept header at all, get the HTML page (as the README says)
    for headers in ({"Accept": "*/*"}, {}):
        assert client.get("/missing", headers=headers)["Content-Type"].startswith("text/html")


# -- mounting --------------------------------------------------------------------


def test_nested_router_as_a_route_target():
    inner = djng.Router(djng.path("items/<int:id>", where), (r"^$", where))
    app = djng.Router(djng.path("shop/", inner), djng.re_path(r"^legacy/", inner))
    client = Client(app)
    seen = client.get("/shop/items/3").json()
    assert seen["path"] == "/shop/items/3"
    assert seen["path_info"] == "/items/3"
    assert seen["script_name"] == "/shop"
    assert seen["META_SCRIPT_NAME"] == "/shop"
    assert seen["META_PATH_INFO"] == "/items/3"
    assert seen["kwargs"] == {"id": 3}
    seen = client.get("/legacy/items/4").json()
    assert (seen["path_info"], seen["script_name"]) == ("/items/4", "/legacy")
    assert client.get("/shop/").json()["path_info"] == "/"


def test_mount_moves_the_prefix_to_script_name():
    inner = djng.Router(djng.path("users/<int:id>", where), (r"^$", where))
    app = djng.Router(djng.mount("api", inner), djng.mount("/v2/", inner))
    client = Client(app)
    seen = client.get("/api/users/42").json()
    assert seen["path"] == "/api/users/42"
    assert seen["path_info"] == "/users/42"
    assert seen["script_name"] == "/api"
    assert seen["META_SCRIPT_NAME"] == "/api"
    assert seen["kwargs"] == {"id": 42}
    assert client.get("/v2/users/1").json()["script_name"] == "/v2"
    assert client.get("/api").json()["path_info"] == "/"
    assert client.get("/api/").json()["path_info"] == "/"


def test_mount_does_not_match_a_longer_segment():
    app = djng.Router(djng.mount("api", text("api")), djng.path("apiary", text("bees")))
    client = Client(app)
    assert client.get("/api/x").content == b"api"
    assert client.get("/apiary").content == b"bees"
    assert client.get("/apix").status_code == 404


def test_mount_a_plain_view():
    app = djng.Router(djng.mount("raw", where))
    seen = Client(app).get("/raw/any/thing").json()
    assert (seen["path_info"], seen["script_name"]) == ("/any/thing", "/raw")


def test_three_levels_of_nesting():
    level3 = djng.Router(djng.path("leaf/<int:n>", where))
    level2 = djng.Router(djng.mount("c", level3))
    level1 = djng.Router(djng.mount("b", level2))
    app = djng.Router(djng.mount("a", level1))
    seen = Client(app).get("/a/b/c/leaf/9").json()
    assert seen["path"] == "/a/b/c/leaf/9"
    assert seen["path_info"] == "/leaf/9"
    assert seen["script_name"] == "/a/b/c"
    assert seen["META_SCRIPT_NAME"] == "/a/b/c"
    assert seen["kwargs"] == {"n": 9}
    assert Client(app).get("/a/b/leaf/9").status_code == 404


def test_mount_restores_the_request_after_the_inner_app():
    after = {}

    def outer_view(request):
        response = app_inner(request)
        after.update(path_info=request.path_info, script_name=request.script_name)
        return response

    app_inner = djng.Router(djng.mount("in", where))
    Client(outer_view).get("/in/x")
    assert after == {"path_info": "/in/x", "script_name": ""}


def test_prefix_captures_reach_the_inner_views():
    inner = djng.Router(djng.path("posts/<int:post>", where))
    app = djng.Router(djng.path("users/<int:user>/", inner))
    seen = Client(app).get("/users/5/posts/6").json()
    assert seen["kwargs"] == {"user": 5, "post": 6}
    assert seen["script_name"] == "/users/5"


def test_script_name_from_the_server_is_kept_as_the_base():
    inner = djng.Router(djng.path("x", where))
    handler = djng.wsgi(djng.Router(djng.mount("api", inner)))
    from werkzeug.test import Client as WerkzeugClient

    response = WerkzeugClient(handler).get("/api/x", environ_overrides={"SCRIPT_NAME": "/site"})
    seen = response.json
    assert seen["path"] == "/site/api/x"
    assert seen["script_name"] == "/site/api"
    assert seen["path_info"] == "/x"


# -- methods ---------------------------------------------------------------------


def test_methods_restrict_a_route():
    app = djng.Router(djng.path("m", lambda request: request.method, methods=["get", "POST"]))
    client = Client(app)
    assert client.get("/m").content == b"GET"
    assert client.post("/m").content == b"POST"
    refused = client.put("/m", headers=JSON)
    assert refused.status_code == 405
    allow = {m.strip() for m in refused["Allow"].split(",")}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}
    assert json.loads(refused.content)["status"] == 405


def test_dict_view_dispatches_on_the_method():
    app = djng.Router(
        djng.path(
            "things/<int:id>",
            {"GET": lambda r, id: f"get {id}", "delete": lambda r, id: f"del {id}"},
        )
    )
    client = Client(app)
    assert client.get("/things/1").content == b"get 1"
    assert client.delete("/things/2").content == b"del 2"
    refused = client.patch("/things/3")
    assert refused.status_code == 405
    assert {m.strip() for m in refused["Allow"].split(",")} == {"GET", "HEAD", "DELETE", "OPTIONS"}


def test_dict_view_in_a_tuple_route():
    app = djng.Router((r"^form$", {"GET": text("show"), "POST": text("save")}))
    client = Client(app)
    assert client.get("/form").content == b"show"
    assert client.post("/form").content == b"save"
    assert client.put("/form").status_code == 405


def test_head_works_where_get_does():
    calls = []

    def view(request):
        calls.append(request.method)
        return "body text"

    app = djng.Router(
        djng.path("a", view, methods=["GET"]), djng.path("b", {"GET": view}), djng.path("c", view)
    )
    client = Client(app)
    for url in ("/a", "/b", "/c"):
        response = client.head(url)
        assert response.status_code == 200
        assert response.content == b""
    assert calls == ["HEAD", "HEAD", "HEAD"]
    assert Client(djng.Router(djng.path("p", view, methods=["POST"]))).head("/p").status_code == 405


def test_head_over_wsgi_sends_headers_but_no_body():
    from werkzeug.test import Client as WerkzeugClient

    app = djng.Router(djng.path("a", text("twelve bytes"), methods=["GET"]))
    response = WerkzeugClient(djng.wsgi(app)).head("/a")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "12"
    assert response.data == b""


def test_options_is_answered_with_allow():
    app = djng.Router(
        djng.path("m", text("m"), methods=["GET", "PUT"]),
        djng.path("d", {"POST": text("p")}),
    )
    client = Client(app)
    response = client.options("/m")
    assert response.status_code == 200
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "HEAD", "PUT", "OPTIONS"}
    response = client.options("/d")
    assert response.status_code == 200
    assert {m.strip() for m in response["Allow"].split(",")} == {"POST", "OPTIONS"}


def test_same_path_different_methods_across_two_routes():
    app = djng.Router(
        djng.path("items", text("list"), methods=["GET"]),
        djng.path("items", text("create"), methods=["POST"]),
        djng.re_path(r"^things$", text("things get"), methods=["GET"]),
        djng.re_path(r"^things$", text("things delete"), methods=["DELETE"]),
    )
    client = Client(app)
    assert client.get("/items").content == b"list"
    assert client.post("/items").content == b"create"
    assert client.get("/things").content == b"things get"
    assert client.delete("/things").content == b"things delete"
    refused = client.put("/items")
    assert refused.status_code == 405
    assert {m.strip() for m in refused["Allow"].split(",")} == {"GET", "HEAD", "POST", "OPTIONS"}
    allowed = client.options("/things")["Allow"]
    assert {m.strip() for m in allowed.split(",")} == {"GET", "HEAD", "DELETE", "OPTIONS"}


# -- precedence ------------------------------------------------------------------


def test_earlier_regex_wins_over_a_later_literal():
    app = djng.Router((r"^(?P<name>\w+)$", text("regex")), (r"^hello$", text("literal")))
    assert Client(app).get("/hello").content == b"regex"


def test_earlier_converter_wins_over_a_later_literal():
    app = djng.Router(
        djng.path("<slug:name>", text("converter")), djng.path("about", text("literal"))
    )
    assert Client(app).get("/about").content == b"converter"


def test_earlier_literal_wins_over_a_later_regex():
    app = djng.Router((r"^hello$", text("literal")), (r"^(?P<name>\w+)$", text("regex")))
    client = Client(app)
    assert client.get("/hello").content == b"literal"
    assert client.get("/other").content == b"regex"


def test_earlier_mount_wins_over_a_later_literal():
    app = djng.Router(djng.mount("docs", text("mounted")), djng.path("docs/index", text("literal")))
    assert Client(app).get("/docs/index").content == b"mounted"


def test_first_of_two_identical_literals_wins():
    app = djng.Router(djng.path("dup", text("first")), (r"^dup$", text("second")))
    assert Client(app).get("/dup").content == b"first"


def test_literal_limited_to_get_falls_through_to_a_later_regex_for_post():
    app = djng.Router(
        djng.path("hello", text("literal get"), methods=["GET"]),
        (r"^h\w+$", text("regex any")),
    )
    client = Client(app)
    assert client.get("/hello").content == b"literal get"
    assert client.post("/hello").content == b"regex any"


def test_earlier_regex_limited_to_post_lets_a_later_literal_answer_get():
    app = djng.Router(
        djng.path("<slug:name>", text("slug post"), methods=["POST"]),
        djng.path("hello", text("literal")),
    )
    client = Client(app)
    assert client.get("/hello").content == b"literal"
    assert client.post("/hello").content == b"slug post"


# -- reversing -------------------------------------------------------------------


def urls_view(request):
    template = Engine().from_string(
        "{% url 'home' %}|{% url 'user' id=5 %}|{% url 'leaf' n=1 %}|{% url 'archive' '2024' %}"
    )
    from django.urls import reverse as django_reverse

    return {
        "djng": djng.reverse("user", kwargs={"id": 3}),
        "djng_args": djng.reverse("user", args=[4]),
        "django": django_reverse("leaf", kwargs={"n": 2}),
        "template": template.render(Context({})),
    }


def build_named_site():
    leaf = djng.Router(djng.path("leaf/<int:n>", where, name="leaf"))
    api = djng.Router(
        djng.path("users/<int:id>", where, name="user"),
        djng.mount("deep", leaf),
        djng.path("urls", urls_view),
    )
    return djng.Router(
        (r"^$", where, "home"),
        (r"^archive/(\d{4})$", where, "archive"),
        djng.mount("api", api),
    )


def test_reverse_inside_a_request_uses_the_serving_router():
    seen = Client(build_named_site()).get("/api/urls").json()
    assert seen["djng"] == "/api/users/3"
    assert seen["djng_args"] == "/api/users/4"
    assert seen["django"] == "/api/deep/leaf/2"
    assert seen["template"] == "/|/api/users/5|/api/deep/leaf/1|/archive/2024"


def test_two_sites_reverse_independently():
    other = djng.Router(
        djng.path("elsewhere/users/<int:id>", where, name="user"),
        djng.path("urls", lambda request: djng.reverse("user", kwargs={"id": 1})),
    )
    assert Client(build_named_site()).get("/api/urls").json()["djng"] == "/api/users/3"
    assert Client(other).get("/urls").content == b"/elsewhere/users/1"


def test_router_reverse_outside_a_request():
    site = build_named_site()
    assert site.reverse("user", kwargs={"id": 8}) == "/api/users/8"
    assert djng.reverse("leaf", kwargs={"n": 3}, router=site) == "/api/deep/leaf/3"
    with pytest.raises(NoReverseMatch):
        site.reverse("nope")


def test_reverse_outside_a_request_without_router_is_a_clear_error():
    with pytest.raises(NoReverseMatch, match="no djng Router is serving"):
        djng.reverse("user")


def test_reverse_with_an_app_that_has_a_router_inside():
    site = djng.reconfigure(build_named_site(), debug=True)
    assert djng.reverse("user", kwargs={"id": 2}, router=site) == "/api/users/2"
    with pytest.raises(TypeError, match="has no Router inside"):
        djng.reverse("user", router=where)


def test_reverse_respects_the_servers_script_name():
    from werkzeug.test import Client as WerkzeugClient

    handler = djng.wsgi(build_named_site())
    seen = (
        WerkzeugClient(handler).get("/api/urls", environ_overrides={"SCRIPT_NAME": "/prefix"}).json
    )
    assert seen["djng"] == "/prefix/api/users/3"


# -- bad definitions -------------------------------------------------------------


def test_invalid_regex_fails_at_construction_naming_the_route():
    with pytest.raises(ValueError, match=r"\^\(unclosed\$"):
        djng.Router((r"^(unclosed$", text("x")))


def test_unknown_converter_fails_naming_the_route():
    with pytest.raises(ValueError, match=r"users/<nope:id>"):
        djng.path("users/<nope:id>", text("x"))


@pytest.mark.parametrize("route", ["users/<int:id", "users/int:id>", "a/<b>/<c", "<<x>>"])
def test_an_unclosed_converter_fails_naming_the_route(route):
    with pytest.raises(ValueError, match=r"djng\.path\('.*'\).*<"):
        djng.path(route, lambda request, **kwargs: "x")


def test_non_callable_target_fails_naming_the_route():
    with pytest.raises(TypeError, match=r"\^x\$.*not callable"):
        djng.Router((r"^x$", "views.index"))
    with pytest.raises(TypeError, match=r"djng.path\('y'\).*not callable"):
        djng.path("y", None)
    with pytest.raises(TypeError, match=r"djng.mount\('api', ...\).*neither a view nor"):
        djng.mount("api", 42)
    with pytest.raises(TypeError, match=r"'GET'|not callable"):
        djng.path("z", {"GET": "nope"})


def test_duplicate_name_in_one_router_fails_naming_both_routes():
    with pytest.raises(ValueError) as info:
        djng.Router((r"^a$", text("a"), "same"), djng.path("b", text("b"), name="same"))
    message = str(info.value)
    assert "'same'" in message
    assert "^a$" in message and "djng.path('b')" in message


def test_same_name_in_different_routers_is_allowed():
    inner = djng.Router(djng.path("x", text("inner"), name="x"))
    site = djng.Router(djng.path("x", text("outer"), name="x"), djng.mount("in", inner))
    assert Client(site).get("/in/x").content == b"inner"


def test_unknown_method_fails_naming_the_route():
    with pytest.raises(ValueError, match=r"djng.path\('x'\).*'FETCH'"):
        djng.path("x", text("x"), methods=["FETCH"])
    with pytest.raises(ValueError, match=r"\^y\$.*'FETCH'"):
        djng.re_path(r"^y$", {"FETCH": text("y")})
    with pytest.raises(TypeError, match="list"):
        djng.path("x", text("x"), methods="GET")


def test_route_that_is_not_a_route_fails_with_its_index():
    with pytest.raises(TypeError, match="route 1"):
        djng.Router((r"^a$", text("a")), "b")


# -- Django URL patterns, mounted ----------------------------------------------------------


def django_patterns():
    from django.urls import path

    return [
        path("", where, name="index"),
        path("items/<int:pk>/", where, name="item"),
        path("names", lambda request: {"item": djng.reverse("shop:item", kwargs={"pk": 1})}),
    ]


def test_mount_a_list_of_django_paths():
    site = djng.Router(djng.mount("legacy", django_patterns()))
    seen = Client(site).get("/legacy/items/7/").json()
    assert seen["kwargs"] == {"pk": 7}
    assert (seen["script_name"], seen["path_info"]) == ("/legacy", "/items/7/")
    assert djng.reverse("item", kwargs={"pk": 3}, router=site) == "/legacy/items/3/"
    assert Client(site).get("/legacy/nope").status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(lambda: (django_patterns(), "shop"), id="(patterns, app_name)"),
        pytest.param(lambda: __import__("django.urls").urls.include((django_patterns(), "shop")),
                     id="include()"),
        pytest.param(lambda: type("API", (), {"urls": (django_patterns(), "shop", "shop")})(),
                     id="an object with .urls"),
    ],
)
def test_mount_django_patterns_in_a_namespace(target):
    site = djng.Router(
        djng.mount("shop", target()),
        djng.path("outside", lambda request: djng.reverse("shop:item", kwargs={"pk": 2})),
    )
    client = Client(site)
    assert client.get("/shop/names").json() == {"item": "/shop/items/1/"}
    assert client.get("/outside").content == b"/shop/items/2/"


def test_mount_a_urls_module_by_its_dotted_name(monkeypatch):
    import sys
    import types

    module = types.ModuleType("legacy_urls")
    module.app_name = "legacy"
    module.urlpatterns = django_patterns()
    monkeypatch.setitem(sys.modules, "legacy_urls", module)
    for target in ("legacy_urls", module):
        site = djng.Router(djng.mount("old", target))
        assert Client(site).get("/old/items/5/").json()["kwargs"] == {"pk": 5}
        assert djng.reverse("legacy:index", router=site) == "/old/"


def test_django_views_mounted_get_csrf_and_middleware_view_hooks():
    from django.urls import path

    seen = []

    class Hook:
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            return self.get_response(request)

        def process_view(self, request, view, args, kwargs):
            seen.append(kwargs)

    from django.views.decorators.csrf import csrf_exempt

    patterns = [path("<int:n>", where), path("hook", csrf_exempt(where))]
    site = djng.sessions(djng.middleware(Hook)(djng.Router(djng.mount("d", patterns))))
    client = Client(site)
    assert client.get("/d/4").status_code == 200
    assert seen == [{"n": 4}]
    assert client.post("/d/4").status_code == 403  # no CSRF token: refused like any djng view
    assert client.post("/d/hook").status_code == 200


def test_mount_something_that_is_not_an_app_or_patterns_names_the_fix():
    with pytest.raises(TypeError, match="neither a view nor Django URL patterns"):
        djng.mount("x", 42)
    with pytest.raises(ImportError, match=r"djng.mount\('x', ...\).*no_such_urls"):
        djng.mount("x", "no_such_urls")
