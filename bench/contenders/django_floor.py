"""Django's request and response objects with no handler: the floor for anything
built on them (djng included). Routing is the same plain regexes as the bare app."""

from __future__ import annotations

import json
import re

from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], USE_TZ=True)

from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.http import Http404, HttpResponse, JsonResponse  # noqa: E402

from ..items import HELLO, ROUTES, TEXT  # noqa: E402


def _app(view):
    def app(environ, start_response):
        request = WSGIRequest(environ)
        try:
            response = view(request)
        except Http404:
            response = HttpResponse("Not Found", status=404, content_type=TEXT)
        start_response(
            f"{response.status_code} {response.reason_phrase}",
            [
                *response.items(),
                *(("Set-Cookie", c.OutputString()) for c in response.cookies.values()),
            ],
        )
        return response

    return app


def hello(request):
    return HttpResponse(HELLO, content_type=TEXT)


def hello_or_404(request):
    if request.path_info != "/":
        raise Http404
    return hello(request)


_USER = re.compile(r"/users/(\d+)")


def user(request):
    match = _USER.fullmatch(request.path_info)
    if match is None:
        raise Http404
    user_id = int(match[1])
    return JsonResponse({"id": user_id, "name": f"user {user_id}"})


_ROUTES = [(i, re.compile(rf"/r{i}/(\d+)")) for i in range(ROUTES)]


def routes(request):
    path = request.path_info
    for i, regex in _ROUTES:
        match = regex.fullmatch(path)
        if match is not None:
            return HttpResponse(f"route {i}: {int(match[1])}", content_type=TEXT)
    raise Http404


def echo(request):
    return JsonResponse(json.loads(request.body))


def build() -> dict:
    return {"hello": _app(hello), "json": _app(user), "routes100": _app(routes),
            "post_json": _app(echo), "notfound": _app(hello_or_404)}
