"""Bottle: one app per item."""

from __future__ import annotations

import bottle

from ..items import HELLO, ROUTES, TEXT


def build() -> dict:
    hello = bottle.Bottle()

    @hello.route("/")
    def _hello():
        bottle.response.content_type = TEXT
        return HELLO

    user = bottle.Bottle()

    @user.route("/users/<id:int>")
    def _user(id):
        return {"id": id, "name": f"user {id}"}

    routes = bottle.Bottle()
    for i in range(ROUTES):

        def _route(id, i=i):
            bottle.response.content_type = TEXT
            return f"route {i}: {id}"

        routes.route(f"/r{i}/<id:int>", callback=_route)

    echo = bottle.Bottle()

    @echo.post("/echo")
    def _echo():
        return bottle.request.json

    return {"hello": hello, "json": user, "routes100": routes, "post_json": echo}
