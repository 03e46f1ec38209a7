"""The request class djng serves: Django's ``WSGIRequest``, plus ``script_name`` and
bodies sent without a ``Content-Length``."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIRequest

from . import _django
from .propagation import request_id

__all__ = ["Request"]

_CHUNK = 64 * 1024


class Request(WSGIRequest):
    """Django's request. ``script_name`` is the prefix the current app is mounted under.

    A Router moves a mount's prefix from ``path_info`` to ``script_name`` (and
    ``META['SCRIPT_NAME']``) while the mounted app runs; ``path`` stays the full path.
    A request without a body is built in a fraction of Django's time
    (``djng._django.init_plain_request``); it is the same request.
    """

    def __init__(self, environ: dict) -> None:
        if not _django.init_plain_request(self, environ):
            super().__init__(environ)

    @property
    def id(self) -> str:
        """The request's id: its ``X-Request-ID`` when that is a plain token, else one
        made here; sent on with every call to another service (``djng.propagation``)."""
        return request_id(self)

    @property
    def script_name(self) -> str:
        return self.META.get("SCRIPT_NAME", "").encode("iso-8859-1").decode("utf-8", "replace")

    @property
    def body_unsized(self) -> bool:
        """True for a body sent in chunks (``Transfer-Encoding: chunked``) that the server
        has de-chunked (``wsgi.input_terminated``) without knowing its length."""
        meta = self.META
        return (
            "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
            and not meta.get("CONTENT_LENGTH")
            and bool(meta.get("wsgi.input_terminated"))
        )

    def read_unsized_body(self) -> None:
        """Read a chunked body now, so that Django sees it as one with a length.

        Django reads ``CONTENT_LENGTH`` bytes, so without one a chunked body would
        arrive empty. The body is read to its end into a spooled file (memory up
        to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then disk). As for a body with a
        length, one over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with
        ``RequestDataTooBig`` (413) unless it is a multipart upload, whose files
        Django streams to disk.
        """
        from tempfile import SpooledTemporaryFile

        from django.conf import settings
        from django.core.exceptions import RequestDataTooBig

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if self.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            limit = None
        source = self.environ["wsgi.input"]
        body = SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        size = 0
        while chunk := source.read(_CHUNK):
            size += len(chunk)
            if limit is not None and size > limit:
                body.close()
                raise RequestDataTooBig(
                    "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."
                )
            body.write(chunk)
        body.seek(0)
        self.META["CONTENT_LENGTH"] = str(size)
        _django.replace_body(self, body, size)
