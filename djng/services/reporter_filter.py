"""The exception-reporter filter djng gives Django (``DEFAULT_EXCEPTION_REPORTER_FILTER``).

Kept apart so that ``django.views.debug`` is imported only when a report is made.
"""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter


class ReporterFilter(SafeExceptionReporterFilter):
    """Django's sensitive-data filter, for reports that must not fail themselves.

    Django lists every setting in a report; one that cannot be read (such as
    an unset SECRET_KEY) is shown as unavailable instead of breaking the report.
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
