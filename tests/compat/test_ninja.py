"""django-ninja: examples/api_ninja.py, its OpenAPI schema and docs, reversing through mounts."""

from __future__ import annotations

SETUP = """
api = load("api_ninja")
client = Client(api.app)
"""


def test_schemas_validation_and_pagination(check):
    check(SETUP, """
    page = client.get("/api/books").json()
    assert page == {"count": 3, "items": [{"id": 1, "title": "Middlemarch", "year": 1871},
                                          {"id": 2, "title": "Emma", "year": 1815}]}, page
    assert [b["id"] for b in client.get("/api/books?offset=2").json()["items"]] == [3]
    created = client.post("/api/books", json={"title": "Persuasion", "year": 1817})
    assert created.status_code == 201 and created.json()["id"] == 4, created.content
    invalid = client.post("/api/books", json={"title": "no year"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "book", "year"], invalid.content
    assert client.post("/api/books", data=b"{not json", content_type="application/json"
                       ).status_code == 400
    """, needs=("ninja",))


def test_openapi_schema_and_docs_page_under_the_mount(check):
    check(SETUP, """
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Books"
    assert set(schema["paths"]) == {"/api/books", "/api/links"}, schema["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"/api/openapi.json" in docs.content  # ninja reverses its schema's URL
    """, needs=("ninja",))


def test_ninja_names_reverse_inside_and_outside_the_mount(check):
    check(SETUP, """
    assert client.get("/api/links").json() == {"openapi": "/api/openapi.json",
                                               "docs": "/api/docs"}
    # From a view outside the mount, in Python and with {% url %}, and from a router
    # mounted somewhere else: the namespace belongs to the whole site.
    ns = api.api.urls_namespace
    pages = djng.templates.Django(strings={"t": "{% url '" + ns + ":openapi-json' %}"})
    def outside(request):
        return {"python": djng.reverse(f"{ns}:list_books"),
                "template": djng.render(request, "t").content.decode()}
    site = djng.reconfigure(djng.Router(
        djng.path("outside", outside),
        djng.mount("v1", api.app),
    ), templates=pages)
    assert Client(site).get("/outside").json() == {
        "python": "/v1/api/books", "template": "/v1/api/openapi.json"}
    assert Client(site).get("/v1/api/links").json()["docs"] == "/v1/api/docs"
    assert djng.reverse(f"{ns}:openapi-view", router=site) == "/v1/api/docs"
    """, needs=("ninja",))


def test_a_ninja_api_can_be_reconfigured_like_any_app(check):
    check("""
    from ninja import NinjaAPI
    api = NinjaAPI(urls_namespace="cached")
    @api.get("/hits")
    def hits(request):
        return {"hits": djng.cache.incr("hits") if djng.cache.get("hits") else
                djng.cache.add("hits", 1) and 1}
    first, second = djng.cache.LocMem("one"), djng.cache.LocMem("two")
    site = djng.Router(
        djng.mount("a", djng.reconfigure(djng.Router(djng.mount("", api)), cache=first)),
    )
    client = Client(site)
    assert [client.get("/a/hits").json()["hits"] for _ in range(3)] == [1, 2, 3]
    assert first.get("hits") == 3 and second.get("hits") is None
    """, needs=("ninja",))
