"""The exception-reporter filter djng gives Django (``DEFAULT_EXCEPTION_REPORTER_FILTER``).

Kept apart from ``djng.errors`` so that ``django.views.debug`` is imported only
when a report is made.
"""

from __future__ import annotations

import os
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

_PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep


class ReporterFilter(SafeExceptionReporterFilter):
    """Django's sensitive-data filter, for reports that must not fail or leak themselves.

    - Django lists every setting in a report; one that cannot be read (such as
      an unset SECRET_KEY) is shown as unavailable instead of breaking the report.
    - djng's own frames (the WSGI adapter, a mounted WSGI app, a Router moving a
      prefix) hold the request's environ while an exception passes through them;
      their variables, and a WSGI environ in any frame (what a mounted WSGI app
      receives, ``request.META``), are cleansed the way Django cleanses settings
      and request headers (``Authorization``, ``Cookie``, API keys, tokens,
      passwords), so a debug page or a mailed report never shows what Django
      itself hides in its META section. An ASGI scope's headers, in any
      frame, are cleansed as the same headers are in META.
    """

    def get_safe_settings(self) -> dict[str, Any]:
        from django.conf import settings

        safe = {}
        for name in dir(settings):
            if name.isupper():
                try:
                    value = getattr(settings, name)
                except Exception as exc:
                    value = f"<unavailable: {exc}>"
                safe[name] = self.cleanse_setting(name, value)
        return safe

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        ours = os.path.realpath(tb_frame.f_code.co_filename).startswith(_PACKAGE)
        return [(name, self._cleanse(name, value, ours)) for name, value in variables]

    def _cleanse(self, name: str, value: Any, ours: bool) -> Any:
        if _is_scope(value):
            value = {**value, "headers": [self._header(*pair) for pair in value["headers"]]}
        if ours or _is_environ(value):
            return self.cleanse_setting(name, value)
        return value

    def _header(self, name: bytes, value: bytes) -> tuple[bytes, Any]:
        """An ASGI header, cleansed as Django cleanses the same header in META."""
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        return name, self.cleanse_setting(key, value)


def _is_environ(value: Any) -> bool:
    return isinstance(value, dict) and "wsgi.input" in value


def _is_scope(value: Any) -> bool:
    """An ASGI connection scope (``djng.asgi``), whose headers are raw byte pairs."""
    return isinstance(value, dict) and "headers" in value and value.get("type") in (
        "http", "websocket"
    )
