"""Starlette: ``Starlette(routes=[Route('/', endpoint)])`` with a PlainTextResponse."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ..items import HELLO

_TEXT = HELLO.decode()


async def hello(request):
    return PlainTextResponse(_TEXT)


def build() -> dict:
    return {"asgi_hello": Starlette(routes=[Route("/", hello)])}
