"""The request class djng serves: Django's ``WSGIRequest`` plus ``script_name``."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIRequest

__all__ = ["Request"]


class Request(WSGIRequest):
    """Django's request. ``script_name`` is the prefix the current app is mounted under.

    A Router moves a mount's prefix from ``path_info`` to ``script_name`` (and
    ``META['SCRIPT_NAME']``) while the mounted app runs; ``path`` stays the full path.
    """

    @property
    def script_name(self) -> str:
        return self.META.get("SCRIPT_NAME", "").encode("iso-8859-1").decode("utf-8", "replace")
