"""Django's own ASGI handler (``django.core.handlers.asgi.ASGIHandler``), configured
as ``django_handler`` is (settings.configure(), no middleware), with an async and a
sync hello view, each in its own URLconf; ``activate()`` points ROOT_URLCONF at it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
from django.urls import path

from ..items import HELLO, TEXT
from . import django_handler  # settings.configure() and django.setup(), once (no djng)


async def hello(request):
    return HttpResponse(HELLO, content_type=TEXT)


def sync_hello(request):
    return HttpResponse(HELLO, content_type=TEXT)


URLCONFS = {
    "asgi_hello": django_handler._urlconf("asgi_hello", [path("", hello)]),
    "asgi_sync_hello": django_handler._urlconf("asgi_sync_hello", [path("", sync_hello)]),
}


def activate(item: str) -> None:
    settings.ROOT_URLCONF = URLCONFS[item]


def build() -> dict:
    return dict.fromkeys(URLCONFS, ASGIHandler())
