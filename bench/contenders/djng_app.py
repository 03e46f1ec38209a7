"""djng: one ``djng.wsgi(Router(...))`` per item, written as a djng user would."""

from __future__ import annotations

import json

import djng

from ..items import HELLO, ROUTES, TEXT


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


_backend = djng.cache.LocMem("bench")


def hello_push(request):
    djng.cache.push(_backend)
    return djng.Response(HELLO, content_type=TEXT)


def build() -> dict:
    return {
        "hello": djng.wsgi(djng.Router(djng.path("", hello))),
        "json": djng.wsgi(djng.Router(djng.path("users/<int:id>", user))),
        "routes100": djng.wsgi(
            djng.Router(*(djng.path(f"r{i}/<int:id>", route(i)) for i in range(ROUTES)))
        ),
        "post_json": djng.wsgi(djng.Router(djng.path("echo", echo, methods=["POST"]))),
        "hello_push": djng.wsgi(djng.Router(djng.path("", hello_push))),
        "mounted3": djng.wsgi(
            djng.Router(
                djng.mount("a", djng.Router(djng.mount("b", djng.Router(djng.path("c", hello)))))
            )
        ),
    }
