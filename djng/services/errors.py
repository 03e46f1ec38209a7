"""``djng.errors``: where unhandled exceptions are reported, and the error-pages wrapper.

A reporter is any object with ``report(request, exception)``. ``Log`` (the
default) writes the traceback to a logger; ``Mail`` sends Django's error e-mail
(with its sensitive-data filtering) through the mail service in effect;
``Multiple`` sends to several. Calling ``djng.errors(app, not_found=...,
server_error=...)`` wraps an app with custom error pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.http import HttpRequest

from .stack import Service

__all__ = ["Log", "Mail", "Multiple", "errors"]

_logger = logging.getLogger("djng.errors")


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
        """Wrap ``app`` with custom 404 and 500 views; usable as a decorator too."""
        from ..middleware import error_pages

        if app is None:
            return lambda app: error_pages(app, not_found=not_found, server_error=server_error)
        return error_pages(app, not_found=not_found, server_error=server_error)


errors = ErrorsService(
    "errors",
    expects="an error reporter such as djng.errors.Log(), Mail(to=[...]) or Multiple(...)",
    coerce=_coerce,
    default=Log,
)
