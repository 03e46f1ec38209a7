"""What goes with every call to another service: the request id and the trace context.

A request's id (``request.id``) is the ``X-Request-ID`` it came with, when that
is a plain token (letters, digits and ``._:-``, at most 128), else one made at
the edge. Its trace is the W3C ``traceparent`` it came with, else a new one.
``djng.clients`` sends both with every call made while the request is served
(the trace id kept, a new parent id for the call), so a chain of services shares
one request id and one trace. Log records carry ``request_id`` (``-`` outside a
request), for a format such as ``%(request_id)s %(message)s``.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from typing import Any

from .state import request_variable, state

__all__ = ["current_request", "install_log_records", "outgoing_headers", "request_id"]

#: The request being served in this context (set by the adapter's ``begin()``).
current_request: ContextVar[Any] = request_variable(
    ContextVar("djng.current_request", default=None), None
)

_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def request_id(request: Any) -> str:
    """``request.id``: the ``X-Request-ID`` it came with when that is a plain token,
    else a new one (made once per request)."""
    request_state = state(request)
    found = request_state.request_id
    if found is None:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        found = given if _TOKEN.fullmatch(given) else secrets.token_hex(16)
        request_state.request_id = found
    return found


def _trace_id(request: Any) -> str:
    request_state = state(request)
    found = request_state.trace_id
    if found is None:
        match = _TRACEPARENT.fullmatch(request.META.get("HTTP_TRACEPARENT", "").strip())
        found = match.group(1) if match and match.group(1) != "0" * 32 else secrets.token_hex(16)
        request_state.trace_id = found
    return found


def outgoing_headers() -> dict[str, str]:
    """The headers a call to another service carries: the current request's id and
    its trace (with a new parent id for this call); a new trace outside a request."""
    request = current_request.get()
    span = secrets.token_hex(8)
    if request is None:
        return {"traceparent": f"00-{secrets.token_hex(16)}-{span}-01"}
    trace = f"00-{_trace_id(request)}-{span}-01"
    return {"X-Request-ID": request_id(request), "traceparent": trace}


_installed = False


def install_log_records() -> None:
    """Give every log record ``request_id`` (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        request = current_request.get()
        record.request_id = request_id(request) if request is not None else "-"
        return record

    logging.setLogRecordFactory(record_with_request_id)
