"""Django's own WSGI handler, configured by settings.configure() with no middleware.

Each item has its own URLconf module; ``activate()`` points ROOT_URLCONF at it.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import tempfile
import types
from pathlib import Path

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
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(tempfile.mkdtemp(prefix="django-bench-")) / "bench.sqlite3"),
        }
    },
)
django.setup()

# Django logs every 404 to django.request (a warning): the record is made, as in
# production, but not written to the benchmark's terminal.
logging.getLogger("django.request").addHandler(logging.NullHandler())
logging.getLogger("django.request").propagate = False

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

from ..items import BY_NAME, HELLO, ROUTES, ROW, SHARED_ROUTES, TEXT, environ  # noqa: E402


class BenchRow(models.Model):
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "bench_django"


_table = False


def _make_table() -> None:
    """The ORM rows' table and row, on their first use (the other rows never touch it)."""
    global _table
    if not _table:
        with connection.schema_editor() as editor:
            editor.create_model(BenchRow)
        BenchRow.objects.create(**ROW)
        _table = True


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


def get_row(request, id):
    row = BenchRow.objects.get(pk=id)
    return JsonResponse({"id": row.id, "name": row.name})


def _urlconf(item: str, patterns: list) -> str:
    name = f"bench_django_urls_{item}"
    module = types.ModuleType(name)
    module.urlpatterns = patterns
    sys.modules[name] = module
    return name


def _nested(depth: int) -> list:
    names = "abcde"[:depth]
    patterns = [path(names[-1], hello)]
    for name in reversed(names[:-1]):
        patterns = [path(f"{name}/", include(patterns))]
    return patterns


_rows = path("rows/<int:id>", get_row)
_shared = [path(f"api/r{i}/<int:id>", route(i)) for i in range(SHARED_ROUTES)]

URLCONFS = {
    "hello": _urlconf("hello", [path("", hello)]),
    "json": _urlconf("json", [path("users/<int:id>", user)]),
    "routes100": _urlconf("routes100", [path(f"r{i}/<int:id>", route(i)) for i in range(ROUTES)]),
    "post_json": _urlconf("post_json", [path("echo", echo)]),
    "mounted3": _urlconf("mounted3", _nested(3)),
    "mounted5": _urlconf("mounted5", _nested(5)),
    "notfound": "bench_django_urls_hello",
    "routes1000": _urlconf("routes1000", _shared),
    "routes1000_miss": "bench_django_urls_routes1000",
    "hello_orm": _urlconf("hello_orm", [path("", hello), _rows]),
    "orm_get": _urlconf("orm_get", [_rows]),
}

_handler: WSGIHandler | None = None


def activate(item: str) -> None:
    settings.ROOT_URLCONF = URLCONFS[item]
    if item in ("hello_orm", "orm_get"):
        _make_table()
    if item == "hello_orm" and _handler is not None:  # right after an ORM request
        env = environ(BY_NAME["orm_get"])
        env["wsgi.input"] = io.BytesIO(b"")
        response = _handler(env, lambda status, headers, exc_info=None: None)
        for _ in response:
            pass
        response.close()


def build() -> dict:
    global _handler
    _handler = WSGIHandler()
    return dict.fromkeys(URLCONFS, _handler)
