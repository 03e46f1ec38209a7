"""djng.openapi: the OpenAPI 3.1 document of an app's routes, and the page that shows it.

No ``from __future__ import annotations``: the views' annotations are real types.
"""

import importlib
import json
import re
import shutil
import subprocess
import typing
import uuid
from typing import Annotated, Literal

import msgspec
import pydantic
import pytest

import djng
from djng.testing import Client

openapi_module = importlib.import_module("djng.openapi")  # (djng.openapi is the function)
document = openapi_module.document
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class Item(msgspec.Struct):
    name: str
    qty: Annotated[int, msgspec.Meta(ge=0)] = 0


class Receipt(msgspec.Struct):
    items: list[Item]
    total: int


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)


class Team(pydantic.BaseModel):
    lead: Person
    members: list[Person] = []


# -- the views ------------------------------------------------------------------------------


def show(request, id: int, expand: bool = False) -> Item:
    """Show one item.

    With its details when ``expand``."""
    return Item("x")


def update(request, id: int, item: Item) -> Item:
    return item


def remove(request, id: int):
    return "", 204


def search(request, q: str, limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10,
           tags: list[str] = [],  # noqa: B006 - never changed
           order: Literal["asc", "desc"] = "asc", since: int | None = None) -> list[Item]:
    return []


def place(request, items: list[Item]) -> Receipt:
    return Receipt(items, 0)


def hire(request, person: Person) -> Team:
    return Team(lead=person)


def plain(request, *args, **kwargs):
    return "plain"


def api():
    return djng.Router(
        djng.path("items/<int:id>", {"GET": show, "PUT": update, "DELETE": remove}),
        djng.path("items", search),
        djng.path("orders", place, methods=["POST"]),
        djng.path("people", hire),
        djng.path("pages/<slug:slug>/<uuid:key>/<path:rest>", plain),
        djng.path("named/<name>", plain, methods=["GET", "HEAD", "PATCH"]),
        djng.path("hidden", plain, openapi=False),
        djng.re_path(r"^regex/(?P<year>[0-9]{4})$", plain),
    )


def make_app():
    """``api()`` under /api, and its document at /openapi.json."""
    app = djng.Router(djng.mount("api", api()))
    return djng.Router(
        djng.path("openapi.json", djng.openapi(app, title="Shop", version="2.0")),
        djng.mount("", app),
    )


@pytest.fixture
def doc():
    return document(api(), title="Shop", version="2.0", description="Things to buy")


def operations(doc):
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


# -- the document's structure -----------------------------------------------------------------


def test_the_top_of_the_document(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "Shop", "version": "2.0", "description": "Things to buy"}
    assert "servers" not in doc
    assert doc["components"]["schemas"]["Problem"]["properties"]["errors"]["items"][
        "required"] == ["loc", "message"]


def test_servers_are_given_when_asked():
    doc = document(api(), servers=[{"url": "/api"}])
    assert doc["servers"] == [{"url": "/api"}]
    assert "description" not in doc["info"]


def test_every_documented_operation_is_there(doc):
    assert operations(doc) == {
        ("GET", "/items/{id}"), ("PUT", "/items/{id}"), ("DELETE", "/items/{id}"),
        ("GET", "/items"), ("POST", "/orders"), ("POST", "/people"),
        ("GET", "/pages/{slug}/{key}/{rest}"), ("GET", "/named/{name}"),
        ("PATCH", "/named/{name}"),
    }


def test_path_parameters_have_their_converters_schemas(doc):
    parameters = doc["paths"]["/pages/{slug}/{key}/{rest}"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("slug", "path", True), ("key", "path", True), ("rest", "path", True)]
    slug, key, rest = (p["schema"] for p in parameters)
    assert slug["type"] == "string" and re.fullmatch(slug["pattern"], "a-b_1")
    assert not re.fullmatch(slug["pattern"], "a/b")
    assert key == {"type": "string", "format": "uuid"}
    assert rest == {"type": "string"}
    get = doc["paths"]["/items/{id}"]["get"]
    assert get["parameters"][0] == {"name": "id", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 0}}
    (name,) = doc["paths"]["/named/{name}"]["get"]["parameters"]
    assert name["schema"]["type"] == "string"


def test_query_parameters_say_whether_they_are_required(doc):
    parameters = {p["name"]: p for p in doc["paths"]["/items"]["get"]["parameters"]}
    assert all(p["in"] == "query" for p in parameters.values())
    assert {name: p["required"] for name, p in parameters.items()} == {
        "q": True, "limit": False, "tags": False, "order": False, "since": False}
    assert parameters["q"]["schema"] == {"type": "string"}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert parameters["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert (parameters["tags"]["style"], parameters["tags"]["explode"]) == ("form", True)
    assert "style" not in parameters["q"]
    assert parameters["order"]["schema"] == {"enum": ["asc", "desc"]}
    assert parameters["since"]["schema"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    show = doc["paths"]["/items/{id}"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in show] == [
        ("id", "path", True), ("expand", "query", False)]


def test_a_request_body_refers_to_a_component_in_both_formats(doc):
    body = doc["paths"]["/items/{id}"]["put"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/json", "application/msgpack"}
    for media in body["content"].values():
        assert media["schema"] == {"$ref": "#/components/schemas/Item"}
    item = doc["components"]["schemas"]["Item"]
    assert item["properties"]["qty"] == {"type": "integer", "minimum": 0, "default": 0}
    assert item["required"] == ["name"]
    orders = doc["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert orders["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}


def test_an_optional_body_is_not_required():
    def view(request, item: Item | None = None) -> Item:
        return item

    body = document(djng.Router(djng.path("x", view)))["paths"]["/x"]["post"]["requestBody"]
    assert body["required"] is False


def test_the_success_response_has_the_return_schema(doc):
    success = doc["paths"]["/items/{id}"]["get"]["responses"]["2XX"]
    assert success["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}},
        "application/msgpack": {"schema": {"$ref": "#/components/schemas/Item"}},
    }
    receipt = doc["paths"]["/orders"]["post"]["responses"]["2XX"]["content"]
    assert receipt["application/json"]["schema"] == {"$ref": "#/components/schemas/Receipt"}
    assert doc["components"]["schemas"]["Receipt"]["properties"]["items"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Item"}}
    listed = doc["paths"]["/items"]["get"]["responses"]["2XX"]["content"]["application/json"]
    assert listed["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}


def test_an_untyped_view_has_a_success_without_a_schema(doc):
    responses = doc["paths"]["/named/{name}"]["get"]["responses"]
    assert responses["2XX"] == {"description": "Success"}
    assert set(responses) == {"2XX", "404"}


def test_the_problems_each_operation_may_answer(doc):
    def problems(method, path):
        responses = doc["paths"][path][method]["responses"]
        found = sorted(status for status in responses if status != "2XX")
        for status in found:
            assert responses[status]["content"] == {"application/problem+json": {
                "schema": PROBLEM_REF}}
            assert responses[status]["description"]
        return found

    assert problems("get", "/items/{id}") == ["404", "406", "422"]
    assert problems("put", "/items/{id}") == ["400", "404", "406", "413", "415", "422"]
    assert problems("delete", "/items/{id}") == ["404"]
    assert problems("get", "/items") == ["406", "422"]
    assert problems("post", "/orders") == ["400", "406", "413", "415", "422"]
    assert problems("get", "/pages/{slug}/{key}/{rest}") == ["404"]


def test_summaries_and_descriptions_come_from_docstrings(doc):
    get = doc["paths"]["/items/{id}"]["get"]
    assert get["summary"] == "Show one item."
    assert "With its details" in get["description"]
    assert "summary" not in doc["paths"]["/items/{id}"]["put"]


def test_operation_ids_are_unique(doc):
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert doc["paths"]["/items/{id}"]["get"]["operationId"] == "get_test_openapi_show"
    assert doc["paths"]["/items/{id}"]["put"]["operationId"] == "put_test_openapi_update"


def test_one_view_at_several_paths_has_one_operation_id_each():
    app = djng.Router(djng.path("a", plain), djng.path("b", plain), djng.path("c", plain))
    ids = [item["get"]["operationId"] for item in document(app)["paths"].values()]
    assert len(set(ids)) == 3
    assert ids[0] == "get_test_openapi_plain"


def test_problems_a_view_declares_are_documented():
    @djng.answers(409, 401)
    def take(request, item: Item) -> Item:
        return item

    @djng.answers(418)
    def untyped(request):
        return "x"

    doc = document(djng.Router(djng.path("take", take), djng.path("tea", untyped)))
    responses = doc["paths"]["/take"]["post"]["responses"]
    assert sorted(responses) == ["2XX", "400", "401", "406", "409", "413", "415", "422"]
    assert responses["409"]["content"]["application/problem+json"]["schema"] == PROBLEM_REF
    assert responses["409"]["description"]
    assert doc["paths"]["/tea"]["get"]["responses"]["418"]["description"] == "I'm a Teapot"


@pytest.mark.parametrize("status", [200, 399, 600, "409"])
def test_answers_takes_error_statuses(status):
    with pytest.raises(ValueError, match="4xx and 5xx"):
        djng.answers(status)


def test_methods_without_a_list_are_post_for_a_body_and_get_otherwise(doc):
    assert set(doc["paths"]["/people"]) == {"post"}
    assert set(doc["paths"]["/items"]) == {"get"}


def test_the_methods_a_route_names_are_documented_without_head(doc):
    assert set(doc["paths"]["/named/{name}"]) == {"get", "patch"}
    assert set(doc["paths"]["/orders"]) == {"post"}


def test_a_head_only_route_is_documented_as_head():
    doc = document(djng.Router(djng.path("x", plain, methods=["HEAD"])))
    assert set(doc["paths"]["/x"]) == {"head"}


def test_dict_views_give_one_operation_per_method_without_head(doc):
    assert set(doc["paths"]["/items/{id}"]) == {"get", "put", "delete"}


def test_a_dict_view_with_head_but_no_get_documents_head():
    doc = document(djng.Router(djng.path("x", {"HEAD": plain, "POST": plain})))
    assert set(doc["paths"]["/x"]) == {"head", "post"}


# -- what is left out -------------------------------------------------------------------------


def test_openapi_false_and_re_path_routes_are_left_out(doc):
    paths = set(doc["paths"])
    assert "/hidden" not in paths
    assert not any(path.startswith("/regex") for path in paths)


def test_the_openapi_view_itself_is_not_documented():
    app = djng.Router(djng.path("x", plain))
    app = djng.Router(djng.mount("", app), djng.path("openapi.json", djng.openapi(app)),
                      djng.path("docs", djng.openapi_page()))
    assert operations(document(app)) == {("GET", "/x")}


def test_a_mount_with_openapi_false_is_left_out():
    inner = djng.Router(djng.path("x", plain))
    app = djng.Router(djng.mount("public", inner), djng.mount("private", inner, openapi=False),
                      djng.path("internal/", djng.Router(djng.path("y", plain)), openapi=False))
    assert operations(document(app)) == {("GET", "/public/x")}


def test_a_mounted_non_router_app_is_left_out():
    app = djng.Router(djng.mount("legacy", djng.from_wsgi(lambda environ, start: [])),
                      djng.path("x", plain))
    assert operations(document(app)) == {("GET", "/x")}


def test_an_app_with_no_router_has_no_paths():
    assert document(plain)["paths"] == {}


def test_openapi_refuses_what_is_not_an_app():
    with pytest.raises(TypeError, match="needs an app with a Router"):
        djng.openapi(42)


# -- mounts -------------------------------------------------------------------------------------


def test_mounts_nest_their_prefixes():
    leaf = djng.Router(djng.path("items/<int:id>", show), djng.path("", plain))
    middle = djng.Router(djng.mount("v1/", leaf))
    app = djng.Router(djng.mount("/api", middle), djng.path("top", plain))
    assert operations(document(app)) == {
        ("GET", "/api/v1/items/{id}"), ("GET", "/api/v1"), ("GET", "/top")}


def test_a_mount_at_the_root():
    app = djng.Router(djng.mount("", djng.Router(djng.path("x", plain))))
    assert operations(document(app)) == {("GET", "/x")}


def test_a_reconfigured_router_mounted_is_documented():
    section = djng.reconfigure(djng.Router(djng.path("items/<int:id>", show)),
                               cache=djng.cache.LocMem())
    wrapped = djng.reconfigure(djng.Router(djng.path("z", plain)), debug=True)
    app = djng.Router(djng.mount("shop", section), djng.path("cfg/", wrapped))
    assert operations(document(app)) == {("GET", "/shop/items/{id}"), ("GET", "/cfg/z")}
    parameters = document(app)["paths"]["/shop/items/{id}"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["id", "expand"]


def test_a_router_under_a_path_with_converters_adds_its_parameters():
    inner = djng.Router(djng.path("posts/<int:post>", plain))
    app = djng.Router(djng.path("users/<uuid:user>/", inner))
    doc = document(app)
    (path,) = doc["paths"]
    assert path == "/users/{user}/posts/{post}"
    parameters = doc["paths"][path]["get"]["parameters"]
    assert [(p["name"], p["schema"].get("type")) for p in parameters] == [
        ("user", "string"), ("post", "integer")]
    assert parameters[0]["schema"]["format"] == "uuid"


def test_the_document_of_the_whole_app_has_the_mount_prefix():
    doc = document(make_app())
    assert ("GET", "/api/items/{id}") in operations(doc)
    assert not any(path.startswith("/openapi") for path in doc["paths"])


# -- components -------------------------------------------------------------------------------


def test_pydantic_models_appear_in_components(doc):
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/people"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Person"}
    success = doc["paths"]["/people"]["post"]["responses"]["2XX"]["content"]
    assert success["application/msgpack"]["schema"] == {"$ref": "#/components/schemas/Team"}
    assert schemas["Person"]["properties"]["age"]["minimum"] == 0
    assert schemas["Team"]["properties"]["lead"] == {"$ref": "#/components/schemas/Person"}


def test_a_list_of_pydantic_models():
    def view(request, people: list[Person]) -> list[Person]:
        return people

    doc = document(djng.Router(djng.path("x", view)))
    body = doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}
    assert "Person" in doc["components"]["schemas"]


def test_every_reference_resolves(doc):
    text = json.dumps(doc)
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in doc["components"]["schemas"], name


# -- valid OpenAPI 3.1 --------------------------------------------------------------------------


def big_document():
    doc = document(make_app(), title="Shop", version="2.0")
    assert len(doc["paths"]) >= 5
    return doc


def test_the_document_is_valid_openapi_3_1():
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    OPENAPI_31_VALIDATOR.validate(big_document())
    with pytest.raises(Exception, match="description"):  # the validator does validate
        broken = big_document()
        del broken["paths"]["/api/items"]["get"]["responses"]["2XX"]["description"]
        OPENAPI_31_VALIDATOR.validate(broken)


def test_schemathesis_loads_every_operation():
    import schemathesis

    schema = schemathesis.openapi.from_dict(big_document())
    labels = set()
    for result in schema.get_all_operations():
        labels.add(result.ok().label)  # .ok() raises for an operation it cannot read
    assert labels == {f"{method} {path}" for method, path in operations(big_document())}


def test_schemathesis_generates_requests_the_app_answers_without_a_5xx(adapter):
    from djng.testing import check_contract

    checked = check_contract(make_app(), "/openapi.json", max_examples=10, seed=1,
                             adapter=adapter)
    assert checked == 9


# -- the view ---------------------------------------------------------------------------------


def test_the_openapi_view_serves_the_document_as_json():
    response = Client(make_app()).get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    served = response.json()
    assert served["info"] == {"title": "Shop", "version": "2.0"}
    expected = document(djng.Router(djng.mount("api", api())), title="Shop", version="2.0")
    assert served == json.loads(json.dumps(expected))


def test_the_document_is_built_once(monkeypatch):
    built = []

    def counting(*args, **kwargs):
        built.append(args)
        return document(*args, **kwargs)

    monkeypatch.setattr(openapi_module, "document", counting)
    client = Client(make_app())
    first = client.get("/openapi.json").content
    second = client.get("/openapi.json").content
    assert first == second
    assert len(built) == 1


def test_the_document_is_built_at_the_first_request_not_before(monkeypatch):
    built = []
    monkeypatch.setattr(openapi_module, "document",
                        lambda *a, **k: built.append(1) or {"openapi": "3.1.0"})
    app = make_app()
    assert built == []
    Client(app).get("/openapi.json")
    assert built == [1]


# -- the page ---------------------------------------------------------------------------------


def page(url=None, **kwargs):
    view = djng.openapi_page(url, **kwargs) if url is not None else djng.openapi_page(**kwargs)
    return Client(djng.Router(djng.path("docs", view))).get("/docs")


def test_the_page_is_html_with_no_external_urls():
    response = page("/api/openapi.json", title="Shop")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "<title>Shop</title>" in text
    for external in ("http://", "https://", "//cdn", "src=", "<link"):
        assert external not in text


def test_the_page_fetches_the_schema_url_given():
    text = page("/api/openapi.json").content.decode()
    assert 'fetch("/api/openapi.json")' in text
    assert 'fetch("openapi.json")' in page().content.decode()


def test_the_page_escapes_its_title_and_url():
    text = page("x.json?a=1&b=</script><script>alert(1)", title="<b>API</b>").content.decode()
    assert "<b>API</b>" not in text
    assert "&lt;b&gt;API&lt;/b&gt;" in text
    assert text.count("<script>") == 1
    assert "</script><script>" not in text


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("url", ["/api/openapi.json", "spec.json?a=1&b=</script>'\""])
def test_the_pages_script_runs_and_fetches_the_url(url, tmp_path):
    text = page(url, title="Shop").content.decode()
    (script,) = re.findall(r"<script>(.*)</script>", text, re.S)
    doc = document(make_app(), title="Shop", version="2.0")
    harness = """
const elements = {};
const element = (id) => (elements[id] ||= {id, children: [], textContent: "", innerHTML: "",
  append(...items) { this.children.push(...items); }});
globalThis.document = {getElementById: element, createElement: (tag) => element(Symbol(tag))};
globalThis.fetch = (url) => { console.log(JSON.stringify({fetched: url}));
  return Promise.resolve({json: () => Promise.resolve(DOC)}); };
""".replace("DOC", json.dumps(doc)) + script + """
setTimeout(() => console.log(JSON.stringify({title: elements.title.textContent,
  operations: elements.operations.children.length})), 50);
"""
    (tmp_path / "page.js").write_text(harness)
    run = subprocess.run([NODE, str(tmp_path / "page.js")], capture_output=True, text=True,
                         timeout=20)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[0] == {"fetched": url}
    operation_count = sum(len(item) for item in doc["paths"].values())
    assert lines[1] == {"title": "Shop 2.0", "operations": operation_count + 1}  # + schemas


def test_a_typing_alias_body_in_the_document():
    def view(request, items: typing.List[Item]) -> dict:  # noqa: UP006 - the old spelling
        return {}

    doc = document(djng.Router(djng.path("x", view)))
    body = doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}


def test_a_uuid_query_parameter_has_a_format():
    def view(request, key: uuid.UUID) -> dict:
        return {}

    (parameter,) = document(djng.Router(djng.path("x", view)))["paths"]["/x"]["get"][
        "parameters"]
    assert parameter["schema"] == {"type": "string", "format": "uuid"}
    assert parameter["required"] is True
