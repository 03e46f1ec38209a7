"""A bare WSGI callable per item: the physical floor."""

from __future__ import annotations

import json
import re

from ..items import HELLO, ROUTES, TEXT

_TEXT_HEADERS = [("Content-Type", TEXT), ("Content-Length", str(len(HELLO)))]


def hello(environ, start_response):
    start_response("200 OK", list(_TEXT_HEADERS))
    return [HELLO]


def _json(start_response, doc) -> list[bytes]:
    body = json.dumps(doc).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _not_found(start_response) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", TEXT), ("Content-Length", "9")])
    return [b"Not Found"]


_USER = re.compile(r"/users/(\d+)")


def user(environ, start_response):
    match = _USER.fullmatch(environ["PATH_INFO"])
    if match is None:
        return _not_found(start_response)
    user_id = int(match[1])
    return _json(start_response, {"id": user_id, "name": f"user {user_id}"})


_ROUTES = [(i, re.compile(rf"/r{i}/(\d+)")) for i in range(ROUTES)]


def routes(environ, start_response):
    path = environ["PATH_INFO"]
    for i, regex in _ROUTES:
        match = regex.fullmatch(path)
        if match is not None:
            body = f"route {i}: {int(match[1])}".encode()
            start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(body)))])
            return [body]
    return _not_found(start_response)


def echo(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return _json(start_response, json.loads(environ["wsgi.input"].read(length)))


def build() -> dict:
    return {"hello": hello, "json": user, "routes100": routes, "post_json": echo}
