"""Typed views: bodies, query parameters and returns held to annotations; wire negotiation.

No ``from __future__ import annotations`` here: the views' annotations are real
types, as in most apps (and a few tests define types inside the test).
"""

import dataclasses
import datetime
import decimal
import enum
import json
import typing
import uuid
from typing import Annotated, Literal, TypedDict

import msgspec
import pydantic
import pytest
from django.core.exceptions import PermissionDenied

import djng
from djng.testing import Client

JSON = {"Accept": "application/json"}
MSGPACK = {"Accept": "application/msgpack"}
PROBLEM = "application/problem+json"


# -- the types ------------------------------------------------------------------------------


class Item(msgspec.Struct):
    name: str
    qty: int


class Order(msgspec.Struct):
    items: list[Item]
    note: str = ""


class Receipt(msgspec.Struct):
    count: int
    total: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Pet(TypedDict):
    name: str
    age: int


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0)


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Free(msgspec.Struct):
    data: typing.Any


class NotConvertible:
    """A plain class: msgspec has no way to make one from a query string."""


# -- helpers --------------------------------------------------------------------------------


def client(*routes, raise_exceptions=True):
    return Client(djng.Router(*routes), raise_exceptions=raise_exceptions)


def one(view, route="x", methods=None, **kwargs):
    """A client for ``view`` routed at ``/x`` (typed views are made by routes)."""
    return client(djng.path(route, view, methods=methods), **kwargs)


def problem(response, status):
    """The problem body of ``response``, which must be a ``status`` problem."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    return body


def locs(response):
    return [error["loc"] for error in problem(response, 422)["errors"]]


def msgpack_post(c, path, value, content_type="application/msgpack", **kwargs):
    return c.post(path, data=msgspec.msgpack.encode(value), content_type=content_type, **kwargs)


# -- the body -------------------------------------------------------------------------------


def place(request, order: Order) -> Receipt:
    return Receipt(count=len(order.items), total=sum(item.qty for item in order.items))


ORDER = {"items": [{"name": "a", "qty": 2}, {"name": "b", "qty": 3}]}


def test_a_struct_body_is_read_from_json():
    response = one(place).post("/x", json=ORDER)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"count": 2, "total": 5}


def test_the_view_gets_an_instance_of_the_struct():
    seen = []

    def view(request, order: Order):
        seen.append(order)
        return "ok"

    one(view).post("/x", json=ORDER)
    assert seen == [Order(items=[Item("a", 2), Item("b", 3)])]


@pytest.mark.parametrize(
    "content_type", ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"]
)
def test_a_struct_body_is_read_from_messagepack(content_type):
    response = msgpack_post(one(place), "/x", ORDER, content_type)
    assert response.status_code == 200
    assert response.json() == {"count": 2, "total": 5}


def test_a_dataclass_body():
    def view(request, point: Point) -> Point:
        assert isinstance(point, Point)
        return Point(point.y, point.x)

    c = one(view)
    assert c.post("/x", json={"x": 1, "y": 2}).json() == {"x": 2, "y": 1}
    assert locs(c.post("/x", json={"x": 1})) == ["$"]
    assert locs(c.post("/x", json={"x": 1, "y": "two"})) == ["$.y"]


def test_a_typeddict_body():
    def view(request, pet: Pet) -> Pet:
        assert type(pet) is dict
        return {"name": pet["name"].upper(), "age": pet["age"] + 1}

    c = one(view)
    assert c.post("/x", json={"name": "rex", "age": 3}).json() == {"name": "REX", "age": 4}
    assert locs(c.post("/x", json={"name": "rex", "age": []})) == ["$.age"]


def test_a_pydantic_body():
    def view(request, person: Person) -> Person:
        assert isinstance(person, Person)
        return person.model_copy(update={"age": person.age + 1})

    c = one(view)
    assert c.post("/x", json={"name": "Ada", "age": 36}).json() == {"name": "Ada", "age": 37}
    response = msgpack_post(c, "/x", {"name": "Ada", "age": 36}, headers=MSGPACK)
    assert response["Content-Type"] == "application/msgpack"
    assert msgspec.msgpack.decode(response.content) == {"name": "Ada", "age": 37}
    body = problem(c.post("/x", json={"name": "Ada", "age": -1}), 422)
    assert [e["loc"] for e in body["errors"]] == ["$.age"]
    assert "greater than or equal to 0" in body["errors"][0]["message"]
    assert locs(c.post("/x", json={"age": "x"})) == ["$.name", "$.age"]


def test_a_list_of_structs_body():
    def view(request, items: list[Item]) -> int:
        assert all(isinstance(item, Item) for item in items)
        return sum(item.qty for item in items)

    c = one(view)
    assert c.post("/x", json=[{"name": "a", "qty": 1}, {"name": "b", "qty": 2}]).json() == 3
    assert c.post("/x", json=[]).json() == 0
    bad = [{"name": "a", "qty": 1}, {"name": "b", "qty": 1}, {"name": "c", "qty": "x"}]
    assert locs(c.post("/x", json=bad)) == ["$[2].qty"]


def test_a_nested_error_is_located_in_the_body():
    bad = {"items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 1}, {"name": "c", "qty": "x"}]}
    body = problem(one(place).post("/x", json=bad), 422)
    assert body["errors"] == [{"loc": "$.items[2].qty", "message": "Expected `int`, got `str`"}]
    assert body["detail"]


def test_a_required_body_that_is_missing_is_a_422_at_the_root():
    body = problem(one(place).post("/x"), 422)
    assert body["errors"] == [{"loc": "$", "message": "A body is required"}]


def test_an_optional_body_takes_its_default_when_missing():
    def view(request, order: Order | None = None) -> dict:
        return {"given": order is not None}

    c = one(view)
    assert c.post("/x").json() == {"given": False}
    assert c.post("/x", json=ORDER).json() == {"given": True}


def test_a_body_with_a_struct_default():
    def view(request, item: Item = Item("default", 1)) -> Item:  # noqa: B008
        return item

    c = one(view)
    assert c.post("/x").json() == {"name": "default", "qty": 1}
    assert c.post("/x", json={"name": "n", "qty": 2}).json() == {"name": "n", "qty": 2}


def test_a_body_is_lax_as_json_schema_is():
    assert one(place).post("/x", json={"items": [{"name": "a", "qty": "4"}]}).json() == {
        "count": 1, "total": 4,
    }


def test_a_body_of_no_stated_type_is_read_as_json():
    c = one(place)
    response = c.post("/x", data=json.dumps(ORDER).encode(), content_type="")
    assert response.status_code == 200, response.content
    assert response.json()["total"] == 5


def test_a_json_body_with_a_charset_parameter():
    response = one(place).post(
        "/x", data=json.dumps(ORDER).encode(), content_type="application/json; charset=utf-8"
    )
    assert response.json()["total"] == 5


def test_a_plus_json_body_is_json():
    response = one(place).post(
        "/x", data=json.dumps(ORDER).encode(), content_type="application/vnd.shop+json"
    )
    assert response.json()["total"] == 5


# -- what a body gets wrong -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "name"),
    [
        (b'{"items": [', "application/json", "JSON"),
        (b"{'items': []}", "application/json", "JSON"),
        (b"\xc1", "application/msgpack", "MessagePack"),
        (b"\x82\xa5items", "application/msgpack", "MessagePack"),
    ],
)
def test_a_malformed_body_is_a_400(data, content_type, name):
    body = problem(one(place).post("/x", data=data, content_type=content_type), 400)
    assert f"not valid {name}" in body["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/xml"])
def test_a_body_of_another_type_is_a_415_naming_the_supported_ones(content_type):
    response = one(place).post("/x", data=b"items=1", content_type=content_type)
    body = problem(response, 415)
    assert "application/json" in body["detail"]
    assert "application/msgpack" in body["detail"]
    assert content_type in body["detail"]


@pytest.mark.parametrize("accept", [None, "*/*", "text/html", "application/msgpack"])
def test_a_body_over_the_upload_limit_is_a_413_problem(accept):
    big = {"items": [{"name": "x" * 1000, "qty": 1}] * 3000}  # about 3 MB, over Django's 2.5 MB
    response = one(place).post("/x", json=big, headers={"Accept": accept} if accept else {})
    assert "larger than allowed" in problem(response, 413)["detail"]


def test_a_body_over_a_lowered_upload_limit_is_a_413():
    c = one(place)
    with djng.settings.use({"DATA_UPLOAD_MAX_MEMORY_SIZE": 64}):
        assert c.post("/x", json={"items": [{"name": "a", "qty": 1}]}).status_code == 200
        response = c.post("/x", json={"items": [{"name": "a" * 100, "qty": 1}]})
    problem(response, 413)
    assert c.post("/x", json={"items": [{"name": "a" * 100, "qty": 1}]}).status_code == 200


def test_an_untyped_view_over_the_limit_keeps_its_negotiated_413():
    response = one(lambda request: request.body).post(
        "/x", data=b"x" * 3_000_000, content_type="application/octet-stream",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


# -- hostile bodies: always a 4xx -------------------------------------------------------------


def free(request, body: Free) -> bool:
    return True


def person(request, body: Person) -> bool:
    return True


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
@pytest.mark.parametrize("view", [free, person, place], ids=["struct", "pydantic", "order"])
def test_deeply_nested_json_is_never_a_500(view, depth):
    data = b'{"data": ' + b"[" * depth + b"]" * depth + b', "name": "a", "age": 1}'
    response = one(view, raise_exceptions=False).post(
        "/x", data=data, content_type="application/json"
    )
    if depth == 100 and view is not place:  # nested, but not too deeply: taken
        assert response.status_code == 200
    else:
        assert 400 <= response.status_code < 500, response.content[:200]
        assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("depth", [5000, 200_000])
def test_deeply_nested_json_at_the_top_is_a_4xx(depth):
    response = one(person, raise_exceptions=False).post(
        "/x", data=b"[" * depth + b"]" * depth, content_type="application/json"
    )
    assert 400 <= problem(response, response.status_code)["status"] < 500


@pytest.mark.parametrize("depth", [5000, 200_000])
def test_deeply_nested_messagepack_is_a_400(depth):
    data = b"\x81\xa4data" + b"\x91" * depth + b"\x90"  # {"data": [[[...]]]}
    response = one(free, raise_exceptions=False).post(
        "/x", data=data, content_type="application/msgpack"
    )
    assert "nested too deeply" in problem(response, 400)["detail"]


def test_deeply_nested_json_is_a_400_saying_so():
    data = b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = one(free, raise_exceptions=False).post(
        "/x", data=data, content_type="application/json"
    )
    assert "nested too deeply" in problem(response, 400)["detail"]


@pytest.mark.parametrize(
    "data",
    [
        b'{"items": [{"name": "a", "qty": 1' + b"0" * 5000 + b"}]}",
        b'{"items": [{"name": "a", "qty": 1e999}]}',
        b'{"items": [{"name": "a", "qty": -1' + b"0" * 5000 + b"}]}",
    ],
    ids=["huge-int", "huge-float", "huge-negative"],
)
def test_huge_numbers_are_a_422(data):
    response = one(place, raise_exceptions=False).post(
        "/x", data=data, content_type="application/json"
    )
    assert locs(response) == ["$.items[0].qty"]


def test_big_numbers_python_can_hold_are_taken():
    response = one(place).post("/x", json={"items": [{"name": "a", "qty": -(10**400)}]})
    assert response.json() == {"count": 1, "total": -(10**400)}


def test_huge_numbers_in_the_query_are_a_422():
    def view(request, n: int) -> int:
        return n

    response = one(view, raise_exceptions=False).get("/x", {"n": "1" + "0" * 5000})
    assert locs(response) == ["query.n"]


@pytest.mark.parametrize(
    "data", [b"\xff\xfe\x00{", b'{"items": [{"name": "\xff", "qty": 1}]}', b"\xed\xa0\x80"]
)
def test_bytes_that_are_not_utf8_are_a_4xx(data):
    response = one(place, raise_exceptions=False).post(
        "/x", data=data, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("value", [[1, 2], "order", 42, None, True, 1.5])
@pytest.mark.parametrize("encoding", ["json", "msgpack"])
def test_the_wrong_type_at_the_top_is_a_422_at_the_root(value, encoding):
    c = one(place, raise_exceptions=False)
    if encoding == "json":
        response = c.post("/x", data=json.dumps(value).encode(), content_type="application/json")
    else:
        response = msgpack_post(c, "/x", value)
    body = problem(response, 422)
    assert [e["loc"] for e in body["errors"]] == ["$"]
    assert body["errors"][0]["message"].startswith("Expected `object`")


@pytest.mark.parametrize("value", [{"a": 1}, 42, "x"])
def test_the_wrong_type_at_the_top_of_a_pydantic_body_is_a_422(value):
    response = one(person, raise_exceptions=False).post("/x", json=value)
    assert problem(response, 422)["errors"]


def test_trailing_garbage_after_json_is_a_400():
    response = one(place).post("/x", data=json.dumps(ORDER).encode() + b"x",
                               content_type="application/json")
    problem(response, 400)


# -- query parameters --------------------------------------------------------------------------


def search(
    request,
    i: int,
    b: bool = False,
    f: float = 0.0,
    d: decimal.Decimal = decimal.Decimal("0"),
    u: uuid.UUID | None = None,
    day: datetime.date | None = None,
    color: Color = Color.red,
    order: Literal["asc", "desc"] = "asc",
    maybe: typing.Optional[int] = None,  # noqa: UP045 - Optional spelt the old way too
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10,
    ids: list[int] = [],  # noqa: B006 - never changed
):
    return {
        "i": i, "b": b, "f": f, "d": str(d), "u": u and str(u), "day": day and day.isoformat(),
        "color": color.value, "order": order, "maybe": maybe, "limit": limit, "ids": ids,
        "types": [type(value).__name__ for value in (i, b, f, d, u, day, color, ids)],
    }


def test_query_parameters_are_converted():
    seen = one(search).get("/x", {
        "i": "7", "b": "true", "f": "1.5", "d": "1.10", "u": "12345678-1234-5678-1234-567812345678",
        "day": "2024-02-29", "color": "blue", "order": "desc", "maybe": "3", "limit": "100",
        "ids": ["1", "2", "3"],
    }).json()
    assert seen == {
        "i": 7, "b": True, "f": 1.5, "d": "1.10", "u": "12345678-1234-5678-1234-567812345678",
        "day": "2024-02-29", "color": "blue", "order": "desc", "maybe": 3, "limit": 100,
        "ids": [1, 2, 3],
        "types": ["int", "bool", "float", "Decimal", "UUID", "date", "Color", "list"],
    }


def test_query_parameters_not_given_take_their_defaults():
    seen = one(search).get("/x?i=1").json()
    assert seen["types"] == ["int", "bool", "float", "Decimal", "NoneType", "NoneType", "Color",
                             "list"]
    assert (seen["b"], seen["maybe"], seen["limit"], seen["ids"], seen["order"]) == (
        False, None, 10, [], "asc")


@pytest.mark.parametrize(("given", "expected"), [("true", True), ("1", True), ("false", False),
                                                 ("0", False)])
def test_a_bool_from_the_query(given, expected):
    assert one(search).get("/x", {"i": "1", "b": given}).json()["b"] is expected


def test_the_last_of_a_repeated_scalar_wins():
    assert one(search).get("/x?i=1&i=2").json()["i"] == 2


def test_a_required_query_parameter_that_is_missing_is_a_422():
    body = problem(one(search).get("/x"), 422)
    assert body["errors"] == [{"loc": "query.i", "message": "Required, and not given"}]


@pytest.mark.parametrize(
    ("name", "value"),
    [("i", "one"), ("b", "maybe"), ("f", "abc"), ("d", "x"), ("u", "zz"), ("day", "2024-02-30"),
     ("color", "green"), ("order", "up"), ("maybe", "many"), ("limit", "0"), ("limit", "101")],
)
def test_a_query_parameter_that_does_not_convert_is_a_422(name, value):
    query = {"i": "1", name: value}
    assert locs(one(search).get("/x", query)) == [f"query.{name}"]


def test_an_annotated_bound_says_what_it_is():
    body = problem(one(search).get("/x?i=1&limit=500"), 422)
    assert body["errors"] == [{"loc": "query.limit", "message": "Expected `int` <= 100"}]


def test_a_repeated_list_element_is_located():
    assert locs(one(search).get("/x?i=1&ids=1&ids=x")) == ["query.ids[1]"]


def test_every_query_error_is_in_one_422():
    response = one(search).get("/x?b=maybe&limit=0&ids=x&color=green")
    assert locs(response) == ["query.i", "query.b", "query.color", "query.limit", "query.ids[0]"]


def test_query_and_body_errors_are_in_one_422():
    def view(request, order: Order, limit: Annotated[int, msgspec.Meta(ge=1)], dry: bool = False):
        return "never"

    bad = {"items": [{"name": "a", "qty": "x"}]}
    response = one(view).post("/x?dry=perhaps", json=bad)
    assert locs(response) == ["query.limit", "query.dry", "$.items[0].qty"]


def test_query_errors_and_a_missing_body_are_in_one_422():
    def view(request, order: Order, limit: int):
        return "never"

    assert locs(one(view).post("/x")) == ["query.limit", "$"]


def test_a_malformed_body_is_a_400_even_with_query_errors():
    def view(request, order: Order, limit: int):
        return "never"

    problem(one(view).post("/x", data=b"{", content_type="application/json"), 400)


def test_the_view_is_not_called_when_the_request_is_wrong():
    calls = []

    def view(request, order: Order, limit: int):
        calls.append(1)
        return "called"

    c = one(view)
    c.post("/x?limit=1", data=b"{", content_type="application/json")
    c.post("/x?limit=x", json=ORDER)
    c.post("/x?limit=1", data=b"x", content_type="text/plain")
    assert calls == []
    assert c.post("/x?limit=1", json=ORDER).content == b"called"
    assert calls == [1]


def test_unannotated_parameters_with_defaults_are_left_alone():
    def view(request, limit: int = 5, other="kept"):
        return {"limit": limit, "other": other}

    assert one(view).get("/x?limit=2&other=changed").json() == {"limit": 2, "other": "kept"}


# -- path converters -------------------------------------------------------------------------


def test_path_converters_are_untouched_with_or_without_an_annotation():
    seen = []

    def annotated(request, id: int, expand: bool = False) -> dict:
        seen.append((id, expand))
        return {"id": id}

    def bare(request, id, expand: bool = False):
        seen.append((id, expand))
        return {"id": id}

    def as_string(request, slug: str, id: int):
        seen.append((slug, id))
        return "ok"

    c = client(djng.path("a/<int:id>", annotated), djng.path("b/<int:id>", bare),
               djng.path("c/<slug>/<int:id>", as_string))
    assert c.get("/a/7?expand=1").json() == {"id": 7}
    assert c.get("/b/8?id=99").json() == {"id": 8}
    assert c.get("/c/s-1/9").status_code == 200
    assert c.get("/a/x").status_code == 404
    assert seen == [(7, True), (8, False), ("s-1", 9)]


def test_a_path_parameter_is_not_read_from_the_query():
    def view(request, id: int) -> dict:
        return {"id": id}

    c = one(view, route="items/<int:id>")
    assert c.get("/items/3?id=4").json() == {"id": 3}


def test_re_path_groups_are_untouched_too():
    def view(request, year: int, full: bool = False):
        return {"year": year, "full": full}

    c = client(djng.re_path(r"^archive/(?P<year>[0-9]{4})$", view))
    assert c.get("/archive/2024?full=true").json() == {"year": "2024", "full": True}


# -- the return annotation ---------------------------------------------------------------------


def test_a_struct_returned_is_sent():
    response = one(place).post("/x", json=ORDER)
    assert response.content == b'{"count":2,"total":5}'


def test_a_dict_is_converted_into_the_return_struct():
    def view(request) -> Receipt:
        return {"count": 1, "total": 2}

    assert one(view).get("/x").json() == {"count": 1, "total": 2}


def test_an_object_with_the_attributes_is_converted_too():
    class Row:
        count = 3
        total = 4

    def view(request) -> Receipt:
        return Row()

    assert one(view).get("/x").json() == {"count": 3, "total": 4}


def test_a_list_of_structs_returned():
    def view(request) -> list[Item]:
        return [Item("a", 1), {"name": "b", "qty": 2}]

    assert one(view).get("/x").json() == [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}]


def broken(request) -> Receipt:
    return {"count": "many"}


def test_a_view_breaking_its_return_annotation_raises_a_type_error_naming_it():
    with pytest.raises(TypeError) as info:
        one(broken).get("/x")
    message = str(info.value)
    assert "test_typed.broken" in message
    assert "Receipt" in message
    assert "count" in message


def test_a_view_breaking_its_return_annotation_is_a_500():
    response = one(broken, raise_exceptions=False).get("/x", headers=JSON)
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM
    assert b"many" not in response.content


def test_an_async_view_breaking_its_return_annotation_is_named_too():
    async def abroken(request) -> Receipt:
        return 42

    with pytest.raises(TypeError, match=r"abroken returned 42.*Receipt"):
        one(abroken).get("/x")


@pytest.mark.parametrize(
    ("returned", "status", "headers"),
    [
        (({"count": 1, "total": 1}, 201), 201, {}),
        ((Receipt(1, 1), 201, {"Location": "/r/1"}), 201, {"Location": "/r/1"}),
        ((Receipt(1, 1), 202, [("X-One", "1"), ("X-Two", "2")]), 202,
         {"X-One": "1", "X-Two": "2"}),
    ],
    ids=["pair", "headers-dict", "headers-list"],
)
def test_a_tuple_with_a_typed_return(returned, status, headers):
    def view(request) -> Receipt:
        return returned

    response = one(view).get("/x", headers=MSGPACK)
    assert response.status_code == status
    assert response["Content-Type"] == "application/msgpack"
    assert msgspec.msgpack.decode(response.content) == {"count": 1, "total": 1}
    for name, value in headers.items():
        assert response[name] == value


def test_a_tuple_that_breaks_the_annotation_is_a_type_error():
    def view(request) -> Receipt:
        return ({"count": "x"}, 201)

    with pytest.raises(TypeError, match="Receipt"):
        one(view).get("/x")


def test_a_response_returned_by_a_typed_view_is_sent_as_it_is():
    def view(request, n: int = 0) -> Receipt:
        return djng.Response("plain", status=203, content_type="text/plain")

    response = one(view).get("/x")
    assert (response.status_code, response.content) == (203, b"plain")


@pytest.mark.parametrize("annotation", [str, djng.Response, typing.Any, None])
def test_a_return_annotation_that_says_response_checks_nothing(annotation):
    def view(request):
        return "text"

    view.__annotations__ = {"return": annotation}
    response = one(view).get("/x")
    assert response.content == b"text"
    assert response["Content-Type"].startswith("text/html")


def test_an_optional_return():
    def view(request, empty: bool = False) -> Receipt | None:
        return None if empty else Receipt(1, 2)

    c = one(view)
    assert c.get("/x").json() == {"count": 1, "total": 2}
    assert c.get("/x?empty=1").content == b"null"


def test_a_pydantic_return_from_a_dict():
    def view(request) -> Person:
        return {"name": "Ada", "age": 36}

    assert one(view).get("/x").json() == {"name": "Ada", "age": 36}

    def bad(request) -> Person:
        return {"name": "Ada", "age": -1}

    with pytest.raises(TypeError, match=r"bad returned .*Person"):
        one(bad).get("/x")


# -- negotiation -------------------------------------------------------------------------------


def receipt(request) -> Receipt:
    return Receipt(2, 5)


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/*", "text/html, application/json;q=0.5",
     "application/json, application/msgpack;q=0.9", "application/msgpack;q=0.1, */*;q=0.5"],
)
def test_json_by_default(accept):
    response = one(receipt).get("/x", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"count": 2, "total": 5}
    assert response["Vary"] == "Accept"


@pytest.mark.parametrize(
    "accept",
    ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack",
     "application/json;q=0.5, application/msgpack",
     "application/msgpack;q=0.9, application/json;q=0.8", "application/msgpack, */*;q=0.1"],
)
def test_messagepack_when_preferred(accept):
    response = one(receipt).get("/x", headers={"Accept": accept})
    assert response.status_code == 200
    assert response["Content-Type"] in ("application/msgpack", "application/x-msgpack",
                                        "application/vnd.msgpack")
    assert msgspec.msgpack.decode(response.content) == {"count": 2, "total": 5}
    assert response["Vary"] == "Accept"


@pytest.mark.parametrize("accept", ["text/html", "image/png, text/plain", "application/xml"])
def test_no_acceptable_format_is_a_406(accept):
    body = problem(one(receipt).get("/x", headers={"Accept": accept}), 406)
    assert "application/json" in body["detail"]


def test_a_406_is_answered_before_the_view_acts():
    calls = []

    def create(request, item: Item) -> Item:
        calls.append(item)
        return item

    c = one(create)
    problem(c.post("/x", json={"name": "a", "qty": 1}, headers={"Accept": "text/html"}), 406)
    assert calls == []
    # What the request gets wrong comes first.
    assert locs(c.post("/x", json={"name": "a"}, headers={"Accept": "text/html"})) == ["$"]
    assert c.post("/x", json={"name": "a", "qty": 1}).status_code == 200
    assert len(calls) == 1


def test_an_untyped_return_is_not_refused_for_its_accept():
    def view(request, n: int) -> str:
        return f"n={n}"

    response = one(view).get("/x?n=1", headers={"Accept": "image/png"})
    assert (response.status_code, response.content) == (200, b"n=1")


@pytest.mark.parametrize("accept", [";;;=,", "application/json;q=0",
                                    "application/msgpack;q=0"])
def test_a_malformed_or_refusing_accept_header_is_a_406_not_a_500(accept):
    problem(one(receipt, raise_exceptions=False).get("/x", headers={"Accept": accept}), 406)


def test_a_messagepack_body_answered_as_json_and_the_reverse():
    c = one(place)
    response = msgpack_post(c, "/x", ORDER, headers=JSON)
    assert response.json() == {"count": 2, "total": 5}
    response = c.post("/x", json=ORDER, headers=MSGPACK)
    assert msgspec.msgpack.decode(response.content) == {"count": 2, "total": 5}


def test_problems_are_problem_json_whatever_the_client_accepts():
    for accept in ("text/html", "application/msgpack", "*/*"):
        body = problem(one(place).post("/x", json=[1], headers={"Accept": accept}), 422)
        assert body["errors"]


# -- untyped views: as before, MessagePack when asked -----------------------------------------


def untyped(value):
    def view(request):
        return value

    return view


def test_an_untyped_dict_is_the_same_json_bytes_as_before():
    response = one(untyped({"a": 1, "when": datetime.date(2024, 1, 2)})).get("/x")
    assert response.content == b'{"a": 1, "when": "2024-01-02"}'  # Django's encoder, spaced
    assert response["Content-Type"] == "application/json"
    assert response["Vary"] == "Accept"


def test_an_untyped_dict_ignores_accept_it_cannot_meet():
    response = one(untyped([1, 2])).get("/x", headers={"Accept": "text/html"})
    assert (response.status_code, response.content) == (200, b"[1, 2]")


def test_an_untyped_dict_as_messagepack_when_asked():
    response = one(untyped({"a": [1, "b"]})).get("/x", headers=MSGPACK)
    assert response["Content-Type"] == "application/msgpack"
    assert msgspec.msgpack.decode(response.content) == {"a": [1, "b"]}
    assert response["Vary"] == "Accept"


def test_an_untyped_view_with_unannotated_parameters_is_the_view_itself():
    def view(request, id):
        return "x"

    route = djng.path("x/<int:id>", view)
    assert route.view is view
    assert not hasattr(route.view, "djng_contract")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Item("a", 1), {"name": "a", "qty": 1}),
        (Point(1, 2), {"x": 1, "y": 2}),
        (Person(name="Ada", age=3), {"name": "Ada", "age": 3}),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (decimal.Decimal("1.50"), "1.50"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ],
    ids=["struct", "dataclass", "pydantic", "date", "decimal", "uuid"],
)
def test_untyped_views_may_return_native_values(value, expected):
    c = one(untyped(value))
    response = c.get("/x")
    assert response["Content-Type"] == "application/json"
    assert response.json() == expected
    assert response["Vary"] == "Accept"
    response = c.get("/x", headers=MSGPACK)
    assert msgspec.msgpack.decode(response.content) == expected


def test_an_untyped_struct_with_a_status():
    response = one(untyped((Item("a", 1), 201))).get("/x")
    assert (response.status_code, response.json()) == (201, {"name": "a", "qty": 1})


def test_untyped_views_outside_a_router_negotiate_too():
    response = Client(untyped(Item("a", 1))).get("/", headers=MSGPACK)
    assert msgspec.msgpack.decode(response.content) == {"name": "a", "qty": 1}


# -- async views -------------------------------------------------------------------------------


async def aplace(request, order: Order, scale: int = 1) -> Receipt:
    return {"count": len(order.items), "total": scale * sum(i.qty for i in order.items)}


def test_an_async_typed_view(adapter):
    c = one(aplace)
    assert c.post("/x?scale=2", json=ORDER).json() == {"count": 2, "total": 10}
    response = msgpack_post(c, "/x", ORDER, headers=MSGPACK)
    assert msgspec.msgpack.decode(response.content) == {"count": 2, "total": 5}
    assert locs(c.post("/x?scale=x", json=[1])) == ["query.scale", "$"]
    problem(c.post("/x", data=b"{", content_type="application/json"), 400)


def test_an_async_typed_view_is_still_a_coroutine_function():
    import inspect

    assert inspect.iscoroutinefunction(djng.path("x", aplace).view)


# -- dict views --------------------------------------------------------------------------------


def test_dict_views_hold_each_member_to_its_annotations():
    def show(request, id: int, expand: bool = False) -> Item:
        return Item(f"item {id}", 1 + expand)

    def update(request, id: int, item: Item) -> Item:
        return Item(f"{item.name} {id}", item.qty)

    async def remove(request, id: int, force: bool):
        return {"removed": id, "force": force}

    c = client(djng.path("items/<int:id>", {"GET": show, "PUT": update, "DELETE": remove}))
    assert c.get("/items/1?expand=true").json() == {"name": "item 1", "qty": 2}
    assert c.put("/items/2", json={"name": "n", "qty": 5}).json() == {"name": "n 2", "qty": 5}
    assert locs(c.put("/items/2", json={"name": "n"})) == ["$"]
    assert c.delete("/items/3?force=1").json() == {"removed": 3, "force": True}
    assert locs(c.delete("/items/3")) == ["query.force"]
    assert c.head("/items/1").status_code == 200
    assert c.post("/items/1").status_code == 405


# -- routes that cannot be made ------------------------------------------------------------------


def test_two_bodies_are_a_type_error_naming_both():
    def view(request, order: Order, item: Item):
        return "x"

    with pytest.raises(TypeError, match=r"djng.path\('x'\).*view takes two bodies \(order and "
                                        r"item\)"):
        djng.path("x", view)


def test_two_bodies_in_a_dict_view_are_a_type_error():
    def view(request, point: Point, people: list[Person]):
        return "x"

    with pytest.raises(TypeError, match=r"two bodies \(point and people\)"):
        djng.path("x", {"POST": view})


def test_unresolvable_annotations_are_a_type_error_at_route_creation():
    def view(request, order: "Missing"):  # noqa: F821 - the point
        return "x"

    with pytest.raises(TypeError, match=r"djng.path\('x'\).*annotations of .*view cannot be "
                                        r"read.*Missing"):
        djng.path("x", view)


def test_a_type_defined_later_is_a_type_error_too():
    def view(request) -> "LaterThanTheRoute":  # noqa: F821
        return {}

    with pytest.raises(TypeError, match="LaterThanTheRoute"):
        djng.Router(djng.path("x", view))


def test_a_query_type_msgspec_cannot_convert_is_a_type_error_at_route_creation():
    def view(request, thing: NotConvertible):
        return "x"

    with pytest.raises(TypeError, match=r"djng.path\('x'\).*view takes thing: NotConvertible "
                                        r"from the query string"):
        djng.path("x", view)


def test_re_path_routes_are_checked_too():
    def view(request, a: Item, b: Item):
        return "x"

    with pytest.raises(TypeError, match="two bodies"):
        djng.re_path(r"^x$", view)


def test_the_route_keeps_the_contract():
    route = djng.path("orders/<int:id>", aplace)
    contract = route.view.djng_contract
    assert contract.body.name == "order"
    assert contract.body.type is Order
    assert [(q.name, q.required, q.many) for q in contract.query] == [("scale", False, False)]
    assert contract.returns is Receipt
    assert "aplace" in repr(contract)


def test_unnamed_regex_groups_are_positional_and_untouched():
    def view(request, year: int, month, full: bool = False):
        return {"year": year, "month": month, "full": full}

    c = client((r"^archive/([0-9]{4})/([0-9]{2})$", view))
    assert c.get("/archive/2024/05?full=1").json() == {"year": "2024", "month": "05",
                                                       "full": True}


def test_a_plain_class_in_a_body_is_a_type_error_at_route_creation():
    class Holder(msgspec.Struct):
        thing: NotConvertible

    def view(request, holder: Holder):
        return "x"

    with pytest.raises(TypeError, match=r"takes a body of .*Holder.*NotConvertible"):
        djng.path("x", view)


# -- pydantic inside other types ----------------------------------------------------------------


def test_a_list_of_pydantic_models_body():
    def view(request, people: list[Person]) -> list[Person]:
        assert all(isinstance(p, Person) for p in people)
        return [{"name": p.name.upper(), "age": p.age} for p in people]

    c = one(view)
    assert c.post("/x", json=[{"name": "a", "age": 1}]).json() == [{"name": "A", "age": 1}]
    assert locs(c.post("/x", json=[{"name": "a", "age": 1}, {"name": "b", "age": -1}])) == [
        "$[1].age"]


def test_an_optional_pydantic_body():
    def view(request, person: Person | None = None) -> Person | None:
        return person

    c = one(view)
    assert c.post("/x").content == b"null"
    assert c.post("/x", json={"name": "a", "age": 1}).json() == {"name": "a", "age": 1}
    assert locs(c.post("/x", json={"name": "a", "age": "x"})) == ["$.age"]


def test_a_typeddict_return_is_checked():
    def view(request, good: bool = True) -> Pet:
        return {"name": "rex", "age": 3} if good else {"name": "rex"}

    c = one(view)
    assert c.get("/x").json() == {"name": "rex", "age": 3}
    with pytest.raises(TypeError, match=r"view returned .*Pet"):
        c.get("/x?good=0")


# -- problems a typed view raises ----------------------------------------------------------------


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept", [None, BROWSER, "application/msgpack"])
def test_a_typed_views_404_and_403_are_problems_whatever_the_client_accepts(accept):
    def find(request, id: int) -> Item:
        if id == 1:
            raise djng.Http404("No item 1")
        raise PermissionDenied("Not yours")

    c = one(find, route="items/<int:id>")
    headers = {"Accept": accept} if accept else {}
    assert problem(c.get("/items/1", headers=headers), 404)["detail"] == "No item 1"
    assert problem(c.get("/items/2", headers=headers), 403)["detail"] == "Not yours"


def test_an_untyped_views_404_is_still_negotiated():
    def find(request, id):
        raise djng.Http404("No item")

    response = one(find, route="items/<int:id>").get("/items/1", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_problem_a_view_raises_is_answered_with_its_errors():
    async def take(request, item: Item) -> Item:
        raise djng.Problem(409, "Taken", [{"loc": "$.name", "message": "Already there"}])

    body = problem(one(take).post("/x", json={"name": "a", "qty": 1},
                                  headers={"Accept": BROWSER}), 409)
    assert body["title"] == "Conflict"
    assert body["detail"] == "Taken"
    assert body["errors"] == [{"loc": "$.name", "message": "Already there"}]


@pytest.mark.parametrize("status", [200, 302, 500, "404", None])
def test_a_problem_is_a_4xx(status):
    with pytest.raises(ValueError, match="4xx"):
        djng.Problem(status, "x")


def test_a_query_list_of_a_plain_class_is_named_in_full():
    def view(request, things: list[NotConvertible]):
        return "x"

    with pytest.raises(TypeError, match=r"takes things: list\[.*NotConvertible\] from the query"):
        djng.path("x", view)


def test_types_json_schema_cannot_describe_are_still_taken_as_bodies():
    class Packed(msgspec.Struct):
        raw: msgspec.Raw = msgspec.Raw(b"1")  # a default msgspec's JSON Schema cannot encode

    def view(request, packed: Packed) -> dict:
        return {"raw": bytes(packed.raw).decode()}

    c = one(view)
    response = c.post("/x", data=b'{"raw": [1,2]}', content_type="application/json")
    assert response.json() == {"raw": "[1,2]"}
