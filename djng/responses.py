"""Responses: Django's classes under djng's names, and the one place where a
view's return value becomes a response."""

from __future__ import annotations

import html
import inspect
import json
from http.client import responses as _REASONS  # the reason phrase of each status
from typing import Any

from asgiref.sync import async_to_sync
from django.core.serializers.json import DjangoJSONEncoder
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse

from . import _django, wire
from .propagation import current_request
from .wire import preferred_type

__all__ = [
    "FileResponse",
    "Http404",
    "JsonResponse",
    "Response",
    "StreamingResponse",
    "TemplateResponse",
    "error_response",
    "problem_response",
    "preferred_type",
    "redirect",
    "render",
    "to_response",
    "view_name",
]

#: The original djng announcement: "djng.Response is an alias for Django's HttpResponse".
Response = HttpResponse
StreamingResponse = StreamingHttpResponse

_json_encoder = DjangoJSONEncoder()

RETURNABLE = (
    "a Django response, str, bytes, data (a dict, a list, a msgspec Struct, a dataclass...), "
    "(body, status) or (body, status, headers)"
)


def view_name(view: Any) -> str:
    """A name for ``view`` that a developer can find in their code."""
    func = getattr(view, "__func__", view)
    name = getattr(func, "__qualname__", None) or getattr(type(func), "__qualname__", repr(func))
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module else name


def to_response(value: Any, view: Any) -> HttpResponseBase:
    """Turn what ``view`` returned into a response, or say what it may return."""
    if isinstance(value, HttpResponseBase):
        return value
    if isinstance(value, (str, bytes)):
        # The charset is given, so Django need not find it in the Content-Type
        # (about 2.7 µs, twice: for the header and to encode the body).
        charset = _django.setting("DEFAULT_CHARSET")
        return HttpResponse(value, content_type=f"text/html; charset={charset}", charset=charset)
    if isinstance(value, (dict, list)):
        request = current_request.get()
        if request is not None and "msgpack" in request.META.get("HTTP_ACCEPT", ""):
            return wire.native_response(value, request)
        # What JsonResponse(value, safe=False) sends, without building an encoder each time.
        response = HttpResponse(
            _json_encoder.encode(value), content_type="application/json",
            charset=_django.setting("DEFAULT_CHARSET"),
        )
        _django.header_store(response)["vary"] = wire.VARY_ACCEPT  # MessagePack when asked
        return response
    if isinstance(value, tuple) and 2 <= len(value) <= 3:
        return _from_tuple(value, view)
    if inspect.isawaitable(value):
        # An async view on the sync path (WSGI, the test client, a sync layer of
        # yours): run it to completion here, its sync calls on this thread.
        return to_response(async_to_sync(_result_of)(value), view)
    if wire.is_native(value):
        return wire.native_response(value, current_request.get())
    raise TypeError(
        f"The view {view_name(view)} returned {_describe(value)}. "
        f"A view must return {RETURNABLE}."
    )


async def _result_of(awaitable: Any) -> Any:
    return await awaitable


def _from_tuple(value: tuple, view: Any) -> HttpResponseBase:
    body, status, *rest = value
    if isinstance(body, tuple) or not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(
            f"The view {view_name(view)} returned the tuple {value!r}; a tuple must be "
            "(body, status) or (body, status, headers) with an int status."
        )
    response = to_response(body, view)
    response.status_code = status
    response.reason_phrase = _reason(status)
    if rest:
        headers = rest[0]
        try:
            items = headers.items() if hasattr(headers, "items") else list(headers)
            for name, header_value in items:
                response[name] = header_value
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The view {view_name(view)} returned headers {headers!r}; headers must be a "
                "dict or a list of (name, value) pairs."
            ) from exc
    return response


def _describe(value: Any) -> str:
    if value is None:
        return "None (did it forget a return statement?)"
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name} ({value!r:.60})"


def _reason(status: int) -> str:
    return _REASONS.get(status, "Unknown Status Code")


# -- negotiated error responses ------------------------------------------------

_ERROR_TYPES = ("text/html", "application/problem+json", "application/json", "text/plain")


def error_response(
    request: HttpRequest, status: int, detail: str | None = None
) -> HttpResponse:
    """A short error page in the form the client asked for.

    A client that accepts JSON gets ``application/problem+json`` (RFC 9457); a
    browser, or a client with no preference (``*/*``, no header), a small HTML
    page; a client that accepts neither, plain text.
    """
    title = _reason(status)
    preferred = preferred_type(request, _ERROR_TYPES) or "text/plain"
    charset = _django.setting("DEFAULT_CHARSET")
    if preferred in ("application/problem+json", "application/json"):
        return problem_response(status, detail)
    if preferred == "text/html":
        paragraph = f"<p>{html.escape(detail)}</p>" if detail else ""
        body = (
            f"<!doctype html>\n<title>{status} {title}</title>\n"
            f"<h1>{title}</h1>\n{paragraph}\n"
        )
        content_type = f"text/html; charset={charset}"
    else:
        body = f"{status} {title}\n" + (f"{detail}\n" if detail else "")
        content_type = f"text/plain; charset={charset}"
    return HttpResponse(body.encode(charset), status=status, content_type=content_type)


def problem_response(
    status: int, detail: str | None = None, errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    """An ``application/problem+json`` answer (RFC 9457), with ``errors`` if any."""
    problem: dict[str, Any] = {"type": "about:blank", "title": _reason(status), "status": status}
    if detail:
        problem["detail"] = detail
    if errors:
        problem["errors"] = errors
    return HttpResponse(json.dumps(problem), status=status,
                        content_type="application/problem+json")
