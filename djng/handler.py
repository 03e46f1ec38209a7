"""Calling views and turning exceptions into responses, each in one place.

Every djng layer that calls a view goes through :func:`call_view` (so return
values are coerced and Django middleware view hooks run), and every layer that
must answer whatever happens goes through :func:`respond` or
:func:`response_for_exception`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from .responses import error_response, to_response
from .services import debug, errors

__all__ = [
    "call_view",
    "is_server_error",
    "report_exception",
    "respond",
    "response_for_exception",
    "server_error_response",
]

#: Exceptions Django maps to a 4xx response rather than a reported 500.
CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)

_fallback_logger = logging.getLogger("djng.errors")


def respond(app: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Call ``app`` and always return a rendered response, whatever happens."""
    try:
        response = to_response(app(request, *args, **kwargs), app)
        if getattr(response, "render", None) is not None:
            response = response.render()
    except Exception as exc:
        response = response_for_exception(request, exc)
    return response


def call_view(request: HttpRequest, view: Any, args: tuple, kwargs: dict) -> HttpResponseBase:
    """Call the view a Router picked, with the view hooks of enclosing Django middleware.

    ``djng.middleware`` wrappers leave their instances in
    ``request._djng_view_hooks``; they are run here, around the view that was
    finally picked, with Django's semantics: ``process_view`` in order,
    ``process_exception`` and ``process_template_response`` in reverse.
    """
    hooks = request.__dict__.get("_djng_view_hooks")
    if not hooks:
        return to_response(view(request, *args, **kwargs), view)
    request._djng_view_hooks = ()  # consumed: a mounted Router must not run them twice
    for mw in hooks:
        process_view = getattr(mw, "process_view", None)
        if process_view is not None:
            result = process_view(request, view, args, kwargs)
            if result is not None:
                response = to_response(result, process_view)
                break
    else:
        try:
            response = to_response(view(request, *args, **kwargs), view)
        except Exception as exc:
            for mw in reversed(hooks):
                process_exception = getattr(mw, "process_exception", None)
                if process_exception is not None:
                    result = process_exception(request, exc)
                    if result is not None:
                        response = to_response(result, process_exception)
                        break
            else:
                raise
    if getattr(response, "render", None) is not None:
        for mw in reversed(hooks):
            process_template_response = getattr(mw, "process_template_response", None)
            if process_template_response is not None:
                response = process_template_response(request, response)
                if response is None:
                    raise ValueError(
                        f"{type(mw).__qualname__}.process_template_response didn't return "
                        "an HttpResponse object. It returned None instead."
                    )
    return response


def response_for_exception(request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """The response Django would give for ``exc``, negotiated for the client.

    ``Http404`` -> 404, ``PermissionDenied`` -> 403, a body over the upload limit
    -> 413, ``BadRequest``/``SuspiciousOperation`` -> 400; anything else is
    reported and becomes a 500 (Django's technical page when debugging).
    """
    if isinstance(exc, Http404):
        response = error_response(request, 404, _message(exc))
    elif isinstance(exc, PermissionDenied):
        response = error_response(request, 403, _message(exc))
    elif isinstance(exc, RequestDataTooBig):
        response = error_response(request, 413, "The request body is larger than allowed.")
    elif isinstance(exc, (BadRequest, MultiPartParserError)):
        response = error_response(request, 400, _message(exc))
    elif isinstance(exc, SuspiciousOperation):
        # As Django does: log to django.security.<Class>, answer without details.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(
            str(exc), extra={"status_code": 400, "request": request}
        )
        response = error_response(request, 400)
    else:
        return server_error_response(request, exc)
    response._djng_exception = exc
    return response


def server_error_response(request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """Report an unhandled exception and answer 500 (the technical page when debugging)."""
    report_exception(request, exc)
    response = _technical_500(request, exc) if debug.current() else None
    if response is None:
        response = error_response(request, 500)
    response._djng_exception = exc
    return response


def is_server_error(exc: BaseException) -> bool:
    """True for exceptions that become a reported 500, False for Django's 4xx ones."""
    return not isinstance(exc, CLIENT_ERRORS)


def _technical_500(request: HttpRequest, exc: Exception) -> HttpResponseBase | None:
    """Django's debug page, or None (and a log line) if even that cannot be built."""
    from django.views.debug import technical_500_response

    try:
        return technical_500_response(request, type(exc), exc, exc.__traceback__)
    except Exception:
        _fallback_logger.exception("djng could not build the debug page; answering a plain 500")
        return None


def report_exception(request: HttpRequest, exc: BaseException) -> None:
    """Send ``exc`` to the error reporting service in effect, once per exception."""
    if getattr(exc, "_djng_reported", False):
        return
    exc._djng_reported = True
    request._djng_exception = exc
    try:
        got_request_exception.send(sender=None, request=request)
        errors.current().report(request, exc)
    except Exception:  # reporting must never turn one failure into two
        _fallback_logger.exception("djng could not report an exception")
        _fallback_logger.error("The exception it could not report:", exc_info=exc)


def _message(exc: Exception) -> str | None:
    if exc.args and isinstance(exc.args[0], str) and exc.args[0]:
        return exc.args[0]
    return None
