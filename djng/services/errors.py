"""``djng.errors``: what an exception becomes, where it is reported, and error pages.

This module is the one rule for exceptions. :func:`response_for_exception`
turns any exception into a response: Django's 4xx exceptions into negotiated
error pages, anything else into a reported 500 (Django's technical page when
``djng.debug`` is on). Every layer that must answer whatever happens (the WSGI
adapter, each ``djng.middleware`` wrapper, ``djng.reconfigure``) applies it, as
Django's ``convert_exception_to_response`` does around each middleware. The
exception a response stands for is kept in the request's state
(``djng.state.RequestState.error``), so that error pages further out
(``djng.errors(app, not_found=..., server_error=...)``) can replace it.

Reports go to the reporter in effect, an object with ``report(request,
exception)``: ``Log`` (the default) writes the traceback to a logger; ``Mail``
sends Django's error e-mail (with its sensitive-data filtering) through the mail
service in effect; ``Multiple`` sends to several. Each exception is reported once.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from ..layers import async_of, layer
from ..problems import Problem
from ..responses import error_response, problem_response, to_response
from ..state import state
from ..workers import in_worker
from .clients import RemoteError
from .debug import debug
from .stack import Service

__all__ = [
    "CLIENT_ERRORS",
    "Log",
    "Mail",
    "Multiple",
    "error_pages",
    "errors",
    "is_server_error",
    "report",
    "response_for_exception",
]

#: Exceptions Django maps to a 4xx response rather than a reported 500 (the ones
#: :func:`response_for_exception` answers before its 500: keep the two together).
CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)

_logger = logging.getLogger("djng.errors")

#: Set in the environ by ``djng.testing.Client(raise_exceptions=True)`` to a list: an
#: exception is appended to it, and raised in the test, instead of being sent to the
#: reporter in effect.
RAISED_IN_TEST = "djng.testing.raise_exceptions"


# -- the rule -------------------------------------------------------------------------------


def response_for_exception(request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """The response for ``exc``, negotiated for the client.

    ``Http404`` -> 404, ``PermissionDenied`` -> 403, a body over the upload limit
    -> 413, a ``Problem`` -> its status (with its errors), ``BadRequest``/
    ``SuspiciousOperation`` -> 400; a failed call to another
    service (``djng.clients``) is reported and answers 502, or 504 past its
    deadline; anything else is reported and becomes a 500 (Django's technical
    page when debugging).
    """
    if isinstance(exc, Http404):
        response = error_response(request, 404, _message(exc))
    elif isinstance(exc, PermissionDenied):
        response = error_response(request, 403, _message(exc))
    elif isinstance(exc, RequestDataTooBig):
        response = error_response(request, 413, "The request body is larger than allowed.")
    elif isinstance(exc, Problem):  # an API's answer: problem+json, whatever the client
        response = problem_response(exc.status, exc.detail, exc.errors)
    elif isinstance(exc, (BadRequest, MultiPartParserError)):
        response = error_response(request, 400, _message(exc))
    elif isinstance(exc, SuspiciousOperation):
        # As Django does: log to django.security.<Class>, answer without details,
        # except for a Host the app does not answer: that says what to configure.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(
            str(exc), extra={"status_code": 400, "request": request}
        )
        detail = str(exc) if isinstance(exc, DisallowedHost) else None
        response = error_response(request, 400, detail)
    elif isinstance(exc, RemoteError):
        # Another service failed: reported with its name, answered without it.
        report(request, exc)
        response = error_response(request, exc.status, "A service this one depends on failed.")
        state(request).error = (exc, response)
        return response
    else:
        return server_error_response(request, exc)
    # A 4xx is not reported: its traceback would only tie the request's frames
    # into a reference cycle (through the state) until the garbage collector runs.
    exc.__traceback__ = None
    state(request).error = (exc, response)
    return response


def server_error_response(request: HttpRequest, exc: Exception) -> HttpResponseBase:
    """Report an unhandled exception and answer 500 (the technical page when debugging)."""
    report(request, exc)
    response = _technical_500(request, exc) if debug.current() else None
    if response is None:
        response = error_response(request, 500)
    state(request).error = (exc, response)
    return response


def is_server_error(exc: BaseException) -> bool:
    """True for exceptions that become a reported 500, False for Django's 4xx ones."""
    return not isinstance(exc, CLIENT_ERRORS)


def report(request: HttpRequest, exc: BaseException) -> None:
    """Send ``exc`` to the error reporting service in effect, once per exception."""
    request_state = state(request)
    if request_state.reported is exc:
        return
    request_state.reported = exc
    try:
        got_request_exception.send(sender=None, request=request)
        raised_in_test = getattr(request, "META", {}).get(RAISED_IN_TEST)
        if raised_in_test is not None:
            raised_in_test.append(exc)  # the test client raises it in the test: its report
            return
        errors.current().report(request, exc)
    except Exception:  # reporting must never turn one failure into two
        _logger.exception("djng could not report an exception")
        _logger.error("The exception it could not report:", exc_info=exc)


def _technical_500(request: HttpRequest, exc: Exception) -> HttpResponseBase | None:
    """Django's debug page, or None (and a log line) if even that cannot be built."""
    from django.views.debug import technical_500_response

    try:
        return technical_500_response(request, type(exc), exc, exc.__traceback__)
    except Exception:
        _logger.exception("djng could not build the debug page; answering a plain 500")
        return None


def _message(exc: Exception) -> str | None:
    if exc.args and isinstance(exc.args[0], str) and exc.args[0]:
        return exc.args[0]
    return None


# -- error pages -------------------------------------------------------------------------------


def error_pages(
    app: Callable,
    *,
    not_found: Callable | None = None,
    server_error: Callable | None = None,
) -> Callable:
    """Give ``app`` its own 404 and 500 views (``djng.errors(app, ...)``).

    ``not_found`` handles ``Http404`` (including no matching route) and
    ``server_error`` handles unhandled exceptions, after they are reported.
    Either view receives ``(request, exception)``, or just ``(request)`` if that
    is all it takes. With ``djng.debug`` on, the technical 500 page wins.
    """
    on_404 = _error_view(not_found, "not_found", 404)
    on_500 = _error_view(server_error, "server_error", 500)
    if on_404 is None and on_500 is None:
        raise TypeError("djng.errors(app, ...) needs not_found=view and/or server_error=view")

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = to_response(app(request, *args, **kwargs), app)
        except Exception as exc:
            response, caught = None, exc
        else:
            caught = _replaceable(request, response)
            if caught is None:
                return response
        page = _page_for(caught)
        if page is None:
            return _unreplaced(response, caught)
        if page is on_500:
            if debug.current():
                return server_error_response(request, caught)
            report(request, caught)
        return page[0](request, caught)

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = to_response(await async_of(app)(request, *args, **kwargs), app)
        except Exception as exc:
            response, caught = None, exc
        else:
            caught = _replaceable(request, response)
            if caught is None:
                return response
        page = _page_for(caught)
        if page is None:
            return _unreplaced(response, caught)
        if page is on_500:
            if debug.current():
                return await in_worker(server_error_response)(request, caught)
            await in_worker(report)(request, caught)
        return await page[1](request, caught)

    def _page_for(caught: Exception) -> tuple | None:
        if on_404 is not None and isinstance(caught, Http404):
            return on_404
        if on_500 is not None and is_server_error(caught):
            return on_500
        return None

    return layer(view, app, twin)


def _replaceable(request: HttpRequest, response: HttpResponseBase) -> Exception | None:
    """The exception ``response`` stands for (the one rule made it), else None."""
    error = state(request).error
    if error is None or error[1] is not response:
        return None  # not an exception's response: nothing to replace
    return error[0]


def _unreplaced(response: HttpResponseBase | None, caught: Exception) -> HttpResponseBase:
    if response is None:
        raise caught
    return response


def _error_view(view: Callable | None, role: str, status: int) -> tuple | None:
    """``(call, acall)``: the error view called on the sync and on the async path."""
    if view is None:
        return None
    if not callable(view):
        raise TypeError(f"djng.errors({role}=...) must be a view, got {view!r}")
    try:
        params = inspect.signature(view).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes_exception = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)
    except (TypeError, ValueError):
        takes_exception = True

    def finish(result: Any) -> HttpResponseBase:
        response = to_response(result, view)
        if not isinstance(result, (HttpResponseBase, tuple)):
            response.status_code = status  # a bare body keeps the error's status
            response.reason_phrase = None
        return response

    def call(request: HttpRequest, exc: Exception) -> HttpResponseBase:
        if twin is not None:
            result = async_to_sync(twin)(*((request, exc) if takes_exception else (request,)))
        else:
            result = view(request, exc) if takes_exception else view(request)
        return finish(result)

    async def acall(request: HttpRequest, exc: Exception) -> HttpResponseBase:
        if twin is None:
            return await in_worker(call)(request, exc)
        return finish(await (twin(request, exc) if takes_exception else twin(request)))

    twin = async_of(view)
    return call, acall


# -- reporters -----------------------------------------------------------------------------------


class Log:
    """Report to a logger, with the traceback and the request on the record."""

    def __init__(self, logger_name: str = "djng.request") -> None:
        self.logger_name = logger_name
        self.logger = logging.getLogger(logger_name)

    def report(self, request: HttpRequest, exc: BaseException) -> None:
        self.logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"status_code": 500, "request": request},
        )

    def __repr__(self) -> str:
        return f"Log({self.logger_name!r})"


class Mail:
    """E-mail Django's error report (traceback, request, filtered settings) to ``to``."""

    def __init__(
        self,
        to: Sequence[str],
        subject_prefix: str = "[djng] ",
        from_email: str | None = None,
        include_html: bool = False,
    ) -> None:
        if isinstance(to, str) or not to:
            raise TypeError("djng.errors.Mail(to=[...]) needs a list of e-mail addresses")
        self.to = list(to)
        self.subject_prefix = subject_prefix
        self.from_email = from_email
        self.include_html = include_html

    def report(self, request: HttpRequest, exc: BaseException) -> None:
        from django.conf import settings
        from django.core.mail import EmailMultiAlternatives
        from django.views.debug import ExceptionReporter

        reporter = ExceptionReporter(
            request, type(exc), exc, exc.__traceback__, is_email=True
        )
        subject = f"{self.subject_prefix}Internal Server Error: {request.path}"
        subject = " ".join(subject.splitlines())[:989]
        message = EmailMultiAlternatives(
            subject,
            reporter.get_traceback_text(),
            self.from_email or settings.SERVER_EMAIL,
            self.to,
        )
        if self.include_html:
            message.attach_alternative(reporter.get_traceback_html(), "text/html")
        message.send()

    def __repr__(self) -> str:
        return f"Mail(to={self.to!r})"


class Multiple:
    """Report to each reporter in turn; one that fails does not stop the others."""

    def __init__(self, *reporters: Any) -> None:
        for reporter in reporters:
            _coerce(reporter)
        self.reporters = reporters

    def report(self, request: HttpRequest, exc: BaseException) -> None:
        for reporter in self.reporters:
            try:
                reporter.report(request, exc)
            except Exception:
                _logger.exception("%r failed to report an exception", reporter)

    def __repr__(self) -> str:
        return f"Multiple{self.reporters!r}"


def _coerce(reporter: Any) -> Any:
    if not callable(getattr(reporter, "report", None)):
        raise TypeError("A reporter needs a report(request, exception) method")
    return reporter


class ErrorsService(Service[Any]):
    Log = Log
    Mail = Mail
    Multiple = Multiple

    def __call__(
        self,
        app: Callable | None = None,
        *,
        not_found: Callable | None = None,
        server_error: Callable | None = None,
    ) -> Callable:
        """Wrap ``app`` with custom 404 and 500 views (:func:`error_pages`); also a decorator."""
        if app is None:
            return lambda app: error_pages(app, not_found=not_found, server_error=server_error)
        return error_pages(app, not_found=not_found, server_error=server_error)


errors = ErrorsService(
    "errors",
    expects="an error reporter such as djng.errors.Log(), Mail(to=[...]) or Multiple(...)",
    coerce=_coerce,
    default=Log,
)
