"""The work items: one request each, the same for every contender, and its check.

A WSGI item is called with a prebuilt environ (:func:`environ`), an ASGI item
with a prebuilt scope (:func:`scope`) and the bench's own ``receive`` and ``send``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

HELLO = b"Hello, World!"
TEXT = "text/plain; charset=utf-8"


def _payload() -> bytes:
    """A 1 KB JSON document, the same in every process."""
    doc = {
        "id": 1234,
        "name": "benchmark order",
        "paid": True,
        "tags": ["alpha", "beta", "gamma", "delta"],
        "items": [
            {"sku": f"SKU-{i:04d}", "qty": i % 7 + 1, "price": round(i * 1.25, 2)}
            for i in range(16)
        ],
        "note": "",
    }
    doc["note"] = "x" * (1024 - len(json.dumps(doc).encode()))
    data = json.dumps(doc).encode()
    assert len(data) == 1024, len(data)
    return data


PAYLOAD = _payload()
PAYLOAD_DOC = json.loads(PAYLOAD)

#: The 100-route router: routes r0/<int:id> .. r99/<int:id>; the request hits the last.
ROUTES = 100

#: The shared-prefix table: api/r0/<int:id> .. api/r999/<int:id>.
SHARED_ROUTES = 1000

#: The row the ORM items read by primary key.
ROW = {"id": 1, "name": "the benchmark row"}


@dataclass(frozen=True)
class Item:
    name: str
    title: str
    method: str
    path: str
    check: Callable[[bytes], bool]
    body: bytes = b""
    #: None: every contender; else the contenders that have this row.
    only: tuple[str, ...] | None = None
    #: The status the answer must have.
    status: int = 200
    #: The contender the row's ratios are taken against (None: Django's handler of
    #: the item's interface).
    baseline: str | None = None
    #: "wsgi" or "asgi": how the contenders are called (and which servers serve them).
    interface: str = "wsgi"
    #: The request's ``Accept`` header.
    accept: str = "*/*"
    #: The ``Content-Type`` the answer must have (its parameters aside; None: any).
    content_type: str | None = None


def problem(item: Item, status: str | int, content_type: str | None, content: bytes) -> str:
    """What is wrong with an answer to ``item`` ('' when nothing is): its status, its
    content type (when the item names one) and its body (the item's check)."""
    if not str(status).startswith(str(item.status)):
        return f"status {status}: {content[:200]!r}"
    if item.content_type is not None:
        got = (content_type or "").split(";", 1)[0].strip().lower()
        if got != item.content_type:
            return f"content type {content_type!r}, not {item.content_type!r}"
    try:
        ok = item.check(content)
    except Exception as exc:  # a body that does not even decode
        return f"{type(exc).__name__}: {exc}: {content[:200]!r}"
    return "" if ok else f"body {content[:200]!r}"


def request_headers(item: Item) -> dict[str, str]:
    """The headers a client sends with ``item`` beyond the defaults (server mode)."""
    headers = {"Content-Type": "application/json"} if item.body else {}
    if item.accept != "*/*":
        headers["Accept"] = item.accept
    return headers


ITEMS: tuple[Item, ...] = (
    Item("hello", "plain-text hello", "GET", "/", lambda b: b == HELLO),
    Item(
        "json", "JSON, path parameter /users/<int:id>", "GET", "/users/42",
        lambda b: json.loads(b) == {"id": 42, "name": "user 42"},
    ),
    Item(
        "routes100", "100 routes, hit the last", "GET", f"/r{ROUTES - 1}/7",
        lambda b: b == f"route {ROUTES - 1}: 7".encode(),
    ),
    Item(
        "post_json", "POST 1 KB JSON, parse and echo", "POST", "/echo",
        lambda b: json.loads(b) == PAYLOAD_DOC, body=PAYLOAD,
    ),
    Item(
        "hello_push", "hello + one service pushed", "GET", "/", lambda b: b == HELLO,
        only=("djng",),
    ),
    Item(
        "mounted3", "hello via 3 nested mounted routers", "GET", "/a/b/c",
        lambda b: b == HELLO, only=("djng", "django"),
    ),
    Item(
        "mounted5", "hello via 5 nested mounts (Flask: blueprints)", "GET", "/a/b/c/d/e",
        lambda b: b == HELLO, only=("djng", "django", "flask"),
    ),
    Item(
        "notfound", "404: no route for the path (the hello app)", "GET", "/nothing",
        lambda b: True, status=404, only=("djng", "django", "flask", "floor"),
    ),
    Item(
        "routes1000", "1000 routes under api/, hit the last", "GET",
        f"/api/r{SHARED_ROUTES - 1}/7",
        lambda b: b == f"route {SHARED_ROUTES - 1}: 7".encode(),
        only=("djng", "django", "flask"),
    ),
    Item(
        "routes1000_miss", "1000 routes under api/, a miss (404)", "GET", "/api/nothing/7",
        lambda b: True, status=404, only=("djng", "django", "flask"),
    ),
    Item(
        "hello_orm", "hello, in a worker that just ran an ORM query (SQLite)", "GET", "/",
        lambda b: b == HELLO, only=("djng", "django_db"), baseline="django_db",
    ),
    Item(
        "orm_get", "one row by primary key through the ORM (SQLite)", "GET", "/rows/1",
        lambda b: json.loads(b) == ROW, only=("djng", "django_db"), baseline="django_db",
    ),
)

#: The ASGI contenders (bench/contenders/__init__.py); their items are ASGI items.
ASGI_HELLO = ("djng_asgi", "django_asgi", "starlette")

ITEMS += (
    Item(
        "asgi_hello", "ASGI: async hello", "GET", "/", lambda b: b == HELLO,
        only=ASGI_HELLO, interface="asgi",
    ),
    Item(
        "asgi_sync_hello", "ASGI: sync hello (a worker thread)", "GET", "/",
        lambda b: b == HELLO, only=("djng_asgi", "django_asgi"), interface="asgi",
    ),
    Item(
        "asgi_hello_push", "ASGI: async hello + one service pushed", "GET", "/",
        lambda b: b == HELLO, only=("djng_asgi",), interface="asgi",
    ),
)

#: Typed views (djng.typed): the 1 KB payload as a msgspec ``Struct`` taken and returned,
#: and the same object sent as JSON and as MessagePack.
MSGPACK = "application/msgpack"


def _msgpack_equals_payload(content: bytes) -> bool:
    import msgspec

    return msgspec.msgpack.decode(content) == PAYLOAD_DOC


ITEMS += (
    Item(
        "post_typed", "POST 1 KB JSON to a typed view (msgspec Struct in and out)", "POST",
        "/orders", lambda b: json.loads(b) == PAYLOAD_DOC, body=PAYLOAD, only=("djng",),
        content_type="application/json",
    ),
    Item(
        "get_typed_json", "typed view: the 1 KB object as JSON", "GET", "/orders/1234",
        lambda b: json.loads(b) == PAYLOAD_DOC, only=("djng",), accept="application/json",
        content_type="application/json",
    ),
    Item(
        "get_msgpack", "typed view: the same object as MessagePack", "GET", "/orders/1234",
        _msgpack_equals_payload, only=("djng",), accept=MSGPACK, content_type=MSGPACK,
    ),
)

BY_NAME = {item.name: item for item in ITEMS}


def environ(item: Item) -> dict:
    """The prebuilt WSGI environ of ``item`` (``wsgi.input`` is set per request)."""
    env = {
        "REQUEST_METHOD": item.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": item.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": "djng-bench",
        "HTTP_ACCEPT": item.accept,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if item.body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(item.body))
    return env


def scope(item: Item) -> dict:
    """The prebuilt ASGI HTTP scope of ``item``, as uvicorn builds it (copied per request:
    frameworks add keys to it)."""
    headers = [
        (b"host", b"localhost"), (b"user-agent", b"djng-bench"),
        (b"accept", item.accept.encode()),
    ]
    if item.body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(item.body)).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": item.method,
        "root_path": "",
        "path": item.path,
        "raw_path": item.path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": {},
    }
