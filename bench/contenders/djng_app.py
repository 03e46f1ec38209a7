"""djng: one ``djng.wsgi(Router(...))`` per item, written as a djng user would."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import msgspec

import djng

from ..items import BY_NAME, HELLO, PAYLOAD, ROUTES, ROW, SHARED_ROUTES, TEXT, environ


def hello(request):
    return djng.Response(HELLO, content_type=TEXT)


def user(request, id):
    return {"id": id, "name": f"user {id}"}


def route(i):
    def view(request, id):
        return djng.Response(f"route {i}: {id}", content_type=TEXT)

    return view


def echo(request):
    return json.loads(request.body)


class Line(msgspec.Struct):
    sku: str
    qty: int
    price: float


class Order(msgspec.Struct):
    """The 1 KB payload's shape (bench/items.py)."""

    id: int
    name: str
    paid: bool
    tags: list[str]
    items: list[Line]
    note: str


def create(request, order: Order) -> Order:
    """A typed view: the body decoded and validated into an Order, which is sent back."""
    return order


_ORDER = msgspec.json.decode(PAYLOAD, type=Order)


def show(request, id: int) -> Order:
    """A typed view with no body: the same Order, as JSON or MessagePack by ``Accept``."""
    return _ORDER


djng.hosts.configure(["localhost", "127.0.0.1"])  # what the bench's requests use

_backend = djng.cache.LocMem("bench")


def hello_push(request):
    djng.cache.push(_backend)
    return djng.Response(HELLO, content_type=TEXT)


def nested(depth: int):
    app = djng.Router(djng.path("", hello))
    for name in reversed("abcde"[:depth]):
        app = djng.Router(djng.mount(name, app))
    return app


def orm_apps() -> dict:
    """The ORM rows: a djng.Model in a SQLite file, one row in it."""
    from djng import models

    class BenchRow(djng.Model):
        name = models.CharField(max_length=100)

    def get_row(request, id):
        row = BenchRow.objects.get(pk=id)
        return {"id": row.id, "name": row.name}

    database = djng.db.SQLite(Path(tempfile.mkdtemp(prefix="djng-bench-")) / "bench.sqlite3")
    djng.db.configure(database)  # this process's database, as DJNG_DATABASE_URL would say
    djng.db.create_tables(BenchRow)
    BenchRow.objects.create(**ROW)
    rows = djng.path("rows/<int:id>", get_row)
    return {
        "hello_orm": djng.wsgi(djng.Router(djng.path("", hello), rows)),
        "orm_get": djng.wsgi(djng.Router(rows)),
    }


_apps: dict = {}


def build() -> dict:
    hello_app = djng.wsgi(djng.Router(djng.path("", hello)))
    _apps.update({
        "hello": hello_app,
        "json": djng.wsgi(djng.Router(djng.path("users/<int:id>", user))),
        "routes100": djng.wsgi(
            djng.Router(*(djng.path(f"r{i}/<int:id>", route(i)) for i in range(ROUTES)))
        ),
        "post_json": djng.wsgi(djng.Router(djng.path("echo", echo, methods=["POST"]))),
        "hello_push": djng.wsgi(djng.Router(djng.path("", hello_push))),
        "post_typed": djng.wsgi(djng.Router(djng.path("orders", create, methods=["POST"]))),
        "get_typed_json": djng.wsgi(djng.Router(djng.path("orders/<int:id>", show))),
        "mounted3": djng.wsgi(nested(3)),
        "mounted5": djng.wsgi(nested(5)),
        "notfound": hello_app,
        "routes1000": djng.wsgi(djng.Router(
            *(djng.path(f"api/r{i}/<int:id>", route(i)) for i in range(SHARED_ROUTES))
        )),
        **orm_apps(),
    })
    _apps["routes1000_miss"] = _apps["routes1000"]
    _apps["get_msgpack"] = _apps["get_typed_json"]
    return dict(_apps)


def activate(item: str) -> None:
    """hello_orm: each batch starts right after a request that ran an ORM query."""
    if item == "hello_orm":
        env = environ(BY_NAME["orm_get"])
        env["wsgi.input"] = io.BytesIO(b"")
        body = _apps["hello_orm"](env, lambda status, headers, exc_info=None: None)
        for _ in body:
            pass
        body.close()
