"""Django's own WSGI handler, configured by settings.configure() with no middleware.

Each item has its own URLconf module; ``activate()`` points ROOT_URLCONF at it.
"""

from __future__ import annotations

import json
import sys
import types

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF="bench_django_urls_hello",
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    USE_TZ=True,
    LOGGING_CONFIG=None,
)
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

from ..items import HELLO, ROUTES, TEXT  # noqa: E402


def hello(request):
    return HttpResponse(HELLO, content_type=TEXT)


def user(request, id):
    return JsonResponse({"id": id, "name": f"user {id}"})


def route(i):
    def view(request, id):
        return HttpResponse(f"route {i}: {id}", content_type=TEXT)

    return view


def echo(request):
    return JsonResponse(json.loads(request.body))


def _urlconf(item: str, patterns: list) -> str:
    name = f"bench_django_urls_{item}"
    module = types.ModuleType(name)
    module.urlpatterns = patterns
    sys.modules[name] = module
    return name


URLCONFS = {
    "hello": _urlconf("hello", [path("", hello)]),
    "json": _urlconf("json", [path("users/<int:id>", user)]),
    "routes100": _urlconf("routes100", [path(f"r{i}/<int:id>", route(i)) for i in range(ROUTES)]),
    "post_json": _urlconf("post_json", [path("echo", echo)]),
    "mounted3": _urlconf(
        "mounted3", [path("a/", include([path("b/", include([path("c", hello)]))]))]
    ),
}


def activate(item: str) -> None:
    settings.ROOT_URLCONF = URLCONFS[item]


def build() -> dict:
    handler = WSGIHandler()
    return dict.fromkeys(URLCONFS, handler)
