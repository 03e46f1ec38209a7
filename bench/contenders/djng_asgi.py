"""djng under ``djng.asgi``: one ``djng.asgi(Router(...))`` per item, written as a
djng user would (async views run on the event loop; a sync view hops once to one
of the adapter's long-lived worker threads)."""

from __future__ import annotations

import djng

from ..items import HELLO

djng.hosts.configure(["localhost", "127.0.0.1"])  # what the bench's requests use

_TEXT = HELLO.decode()
_backend = djng.cache.LocMem("bench")


async def hello(request):
    return _TEXT


def sync_hello(request):
    return _TEXT


async def hello_push(request):
    djng.cache.push(_backend)
    return _TEXT


def build() -> dict:
    return {
        "asgi_hello": djng.asgi(djng.Router(djng.path("", hello))),
        "asgi_sync_hello": djng.asgi(djng.Router(djng.path("", sync_hello))),
        "asgi_hello_push": djng.asgi(djng.Router(djng.path("", hello_push))),
    }
