"""``djng.static(app)``: static files for development, and ``{% static %}`` URLs to match.

Files are looked up in ``root`` (``static/`` next to the app by default), then in
the ``static/`` folders of the installed apps (the admin's CSS and JavaScript),
as Django's ``runserver`` does. Only regular files strictly inside those folders
are served: ``..`` segments (also percent-encoded), absolute paths, backslashes,
NUL bytes and symlinks that lead out of a folder all get a 404.

In production, let a front server (nginx, a CDN) or WhiteNoise serve them.
"""

from __future__ import annotations

import mimetypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage
from django.http import Http404, HttpRequest, HttpResponseBase

from .. import _django, location, registry
from ..layers import async_of, layer
from ..responses import to_response
from ..workers import in_worker

__all__ = ["static"]

#: Content types for files a compressor left behind, as Django's FileResponse does.
_ENCODED_TYPES = {
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip",
    "compress": "application/x-compress",
    "gzip": "application/gzip",
    "xz": "application/x-xz",
}
_TEXT_TYPES = ("application/javascript", "application/json", "image/svg+xml")


def static(
    app: Callable,
    prefix: str = "/static/",
    root: str | Path = "static/",
    *,
    app_dirs: bool = True,
) -> Callable:
    """``app``, with the files under ``root`` served at ``prefix``.

    A relative ``root`` is relative to the app's folder (never the working
    directory). ``app_dirs=False`` serves ``root`` only. ``{% static 'x.css' %}``
    in ``app`` gives ``prefix + 'x.css'`` (behind the app's ``SCRIPT_NAME``).
    Responses carry ``Last-Modified`` and an ``ETag`` with ``Cache-Control:
    no-cache``, so browsers revalidate (and get a 304) instead of using stale files.
    """
    if not callable(app):
        raise TypeError(f"djng.static() needs a view to wrap, got {app!r}")
    if not isinstance(prefix, str) or not prefix.strip("/"):
        raise ValueError(f"djng.static(prefix=...) needs a path such as '/static/', got {prefix!r}")
    prefix = "/" + prefix.strip("/") + "/"
    folders = _Folders(Path(root), app_dirs)

    def file_response(request: HttpRequest) -> HttpResponseBase | None:
        """The static file's response, or None for a path outside ``prefix``."""
        path_info = request.path_info
        if not path_info.startswith(prefix):
            return None
        if request.method not in ("GET", "HEAD"):
            from ..responses import error_response

            response = error_response(
                request, 405, f"{request.method} is not allowed for a static file; use GET."
            )
            response["Allow"] = "GET, HEAD"
            return response
        found = folders.find(path_info[len(prefix) :])
        if found is None:
            raise Http404("No such static file.")
        return _file_response(request, found)

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = file_response(request)
        if response is None:
            scope = _static_url_scope(request, prefix, folders)
            if scope is None:
                return app(request, *args, **kwargs)
            return scope.run(lambda: scope.bind(to_response(app(request, *args, **kwargs), app)))
        return response

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.path_info.startswith(prefix):
            return await in_worker(file_response)(request)  # stat() and open(): disk work
        scope = _static_url_scope(request, prefix, folders)
        call = async_of(app)
        if scope is None:
            return await call(request, *args, **kwargs)

        async def bound() -> HttpResponseBase:
            return scope.bind(to_response(await call(request, *args, **kwargs), app))

        return await scope.arun(bound)

    return layer(view, app, twin)


class _Folders:
    """The folders files are served from, found on first use."""

    def __init__(self, root: Path, app_dirs: bool) -> None:
        self.root = root
        self.app_dirs = app_dirs
        self._resolved: list[str] | None = None
        self._lock = threading.Lock()

    def root_dir(self) -> Path | None:
        if self.root.is_absolute():
            return self.root
        folder = location.app_dir()
        return None if folder is None else folder / self.root

    @property
    def dirs(self) -> list[str]:
        if self._resolved is None:
            with self._lock:
                if self._resolved is None:
                    self._resolved = self._resolve()
        return self._resolved

    def _resolve(self) -> list[str]:
        root = self.root_dir()
        dirs = []
        if root is None:
            import warnings

            warnings.warn(
                f"djng.static(root={str(self.root)!r}) is relative, but the app has no folder "
                "of its own (no script, no DJNG_APP_DIR), so only the installed apps' static "
                "files are served: give an absolute root.",
                RuntimeWarning,
                stacklevel=2,
            )
        else:
            dirs.append(os.path.realpath(root))
        if self.app_dirs:
            registry.setup()
            from django.apps import apps

            for config in apps.get_app_configs():
                folder = os.path.realpath(os.path.join(config.path, "static"))
                if config.path and os.path.isdir(folder) and folder not in dirs:
                    dirs.append(folder)
        return dirs

    def find(self, relative: str) -> str | None:
        """The real path of ``relative`` inside one of the folders, or None."""
        if "\x00" in relative or "\\" in relative:
            return None
        parts = relative.split("/")
        if any(part in (".", "..") for part in parts):
            return None
        parts = [part for part in parts if part]  # '//etc/passwd' is not absolute here
        if not parts:
            return None
        for base in self.dirs:
            real = os.path.realpath(os.path.join(base, *parts))
            if real.startswith(base + os.sep) and os.path.isfile(real):
                return real
        return None


def _file_response(request: HttpRequest, path: str) -> HttpResponseBase:
    from django.http import FileResponse, HttpResponseNotModified
    from django.utils.http import http_date
    from django.views.static import was_modified_since

    stat = os.stat(path)
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
        "Cache-Control": "no-cache",
    }
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        fresh = etag in tags or "*" in tags
    else:
        fresh = not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), stat.st_mtime)
    if fresh:
        response = HttpResponseNotModified()
    else:
        content_type, encoding = mimetypes.guess_type(path)
        if encoding:
            content_type = _ENCODED_TYPES.get(encoding, "application/octet-stream")
        content_type = content_type or "application/octet-stream"
        if content_type.startswith("text/") or content_type in _TEXT_TYPES:
            content_type += "; charset=utf-8"
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
        response["X-Content-Type-Options"] = "nosniff"
    for name, value in headers.items():
        response[name] = value
    return response


def _static_url_scope(request: HttpRequest, prefix: str, folders: _Folders) -> Any:
    """The scope in which ``{% static %}`` gives URLs under ``prefix`` (behind
    SCRIPT_NAME), or None when the storage in effect gives them already."""
    from ..services.stack import Use
    from ..services.storage import storage

    expected = request.META.get("SCRIPT_NAME", "").rstrip("/") + prefix
    current = storage.current()
    if getattr(getattr(current, "static", current), "base_url", None) == expected:
        return None
    return Use(((storage, _StaticURLs(current, expected, folders.root_dir())),))


class _StaticURLs(_django.ContextProxy):
    """The storage in effect, except that its ``.static`` gives URLs under another prefix."""

    def __init__(self, base: Any, url: str, root: Path | None) -> None:
        super().__init__()
        location = str(root) if root is not None else os.path.join(os.sep, "nonexistent")
        self.__dict__["_base"] = base
        self.__dict__["static"] = FileSystemStorage(location=location, base_url=url)

    def _target(self) -> Any:
        return self.__dict__["_base"]
