"""``djng.messages``: flash messages (Django's ``django.contrib.messages``).

They work inside ``djng.sessions()`` (and so ``djng.auth()``), which adds Django's
``MessageMiddleware``: ``djng.messages.success(request, 'Saved.')`` in one
request, and the next page shows it, through
``djng.messages.get_messages(request)`` or the ``messages`` variable of the
``django.contrib.messages.context_processors.messages`` context processor.
"""

from __future__ import annotations

from typing import Any

#: Django's messages API, imported on first use.
_API = (
    "DEBUG",
    "ERROR",
    "INFO",
    "SUCCESS",
    "WARNING",
    "add_message",
    "debug",
    "error",
    "get_level",
    "get_messages",
    "info",
    "set_level",
    "success",
    "warning",
)
__all__ = list(_API)


def __getattr__(name: str) -> Any:
    # Django's messages package is imported on first use, not with djng.
    if name in _API:
        from django.contrib import messages

        value = getattr(messages, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'djng.messages' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
