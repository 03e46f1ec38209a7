"""Flask: one app per item."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from ..items import HELLO, ROUTES, SHARED_ROUTES, TEXT


def build() -> dict:
    hello = Flask("bench_hello")
    hello.add_url_rule("/", "hello", lambda: Response(HELLO, content_type=TEXT))

    user = Flask("bench_json")
    user.add_url_rule("/users/<int:id>", "user", lambda id: {"id": id, "name": f"user {id}"})

    routes = Flask("bench_routes")
    for i in range(ROUTES):
        routes.add_url_rule(
            f"/r{i}/<int:id>", f"r{i}",
            lambda id, i=i: Response(f"route {i}: {id}", content_type=TEXT),
        )

    echo = Flask("bench_echo")
    echo.add_url_rule("/echo", "echo", lambda: request.get_json(), methods=["POST"])

    shared = Flask("bench_shared")
    for i in range(SHARED_ROUTES):
        shared.add_url_rule(
            f"/api/r{i}/<int:id>", f"r{i}",
            lambda id, i=i: Response(f"route {i}: {id}", content_type=TEXT),
        )

    mounted = Flask("bench_mounted")
    inner = Blueprint("e", "bench_e")
    inner.add_url_rule("", "hello", lambda: Response(HELLO, content_type=TEXT))
    for name in "dcba":
        outer = Blueprint(name, f"bench_{name}")
        outer.register_blueprint(inner, url_prefix=f"/{chr(ord(name) + 1)}")
        inner = outer
    mounted.register_blueprint(inner, url_prefix="/a")
    return {
        "hello": hello, "json": user, "routes100": routes, "post_json": echo,
        "notfound": hello, "routes1000": shared, "routes1000_miss": shared,
        "mounted5": mounted,
    }
