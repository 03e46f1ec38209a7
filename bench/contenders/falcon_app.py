"""Falcon: one app per item."""

from __future__ import annotations

import falcon

from ..items import HELLO, ROUTES, TEXT


class Hello:
    def on_get(self, req, resp):
        resp.data = HELLO
        resp.content_type = TEXT


class User:
    def on_get(self, req, resp, id):
        resp.media = {"id": id, "name": f"user {id}"}


class Route:
    def __init__(self, i):
        self.i = i

    def on_get(self, req, resp, id):
        resp.text = f"route {self.i}: {id}"
        resp.content_type = TEXT


class Echo:
    def on_post(self, req, resp):
        resp.media = req.get_media()


def build() -> dict:
    hello = falcon.App()
    hello.add_route("/", Hello())
    user = falcon.App()
    user.add_route("/users/{id:int}", User())
    routes = falcon.App()
    for i in range(ROUTES):
        routes.add_route(f"/r{i}/{{id:int}}", Route(i))
    echo = falcon.App()
    echo.add_route("/echo", Echo())
    return {"hello": hello, "json": user, "routes100": routes, "post_json": echo}
