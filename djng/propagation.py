"""What goes with every call to another service: the request id and the trace context.

A request's id (``request.id``) is the ``X-Request-ID`` it came with, when that
is a plain token (letters, digits and ``._:-``, at most 128), else one made at
the edge. Its trace is the W3C ``traceparent`` it came with, else a new one.
``djng.clients`` sends both with every call made while the request is served
(the trace id kept, a new parent id for the call), so a chain of services shares
one request id and one trace. Log records carry ``request_id`` (``-`` outside a
request), for a format such as ``%(request_id)s %(message)s``.

Each call also sends the seconds it has left, ``X-Request-Timeout``: a request
that arrives with it has that deadline, and the calls it makes in turn end by
then (a request that arrives with none has no deadline of its own). Headers an
app names (``propagate=('Authorization',)`` on a transport) go on as they came.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any

from .state import peek, request_variable, state

__all__ = [
    "DEADLINE_HEADER", "arrived", "call_deadline", "current_request", "install_log_records",
    "outgoing_headers", "request_id",
]

#: The seconds a call has left, sent to the service it calls (a duration: no clocks to agree).
DEADLINE_HEADER = "X-Request-Timeout"
_DEADLINE_KEY = "HTTP_X_REQUEST_TIMEOUT"

#: The request being served in this context (set by the adapter's ``begin()``).
current_request: ContextVar[Any] = request_variable(
    ContextVar("djng.current_request", default=None), None
)

_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")


def arrived(request: Any, environ: dict) -> None:
    """Note when ``request`` arrived: its deadline, if it came with one (``begin()``)."""
    given = environ.get(_DEADLINE_KEY)
    if given is not None and _SECONDS.fullmatch(given.strip()):
        state(request).deadline = time.monotonic() + float(given)


def call_deadline(seconds: float) -> float:
    """The deadline of a call of ``seconds`` made now: never later than the current
    request's own."""
    deadline = time.monotonic() + seconds
    request = current_request.get()
    if request is not None:
        request_state = peek(request)
        if request_state is not None and request_state.deadline is not None:
            return min(deadline, request_state.deadline)
    return deadline


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


def outgoing_headers(propagate: tuple[str, ...] = ()) -> dict[str, str]:
    """The headers a call to another service carries: the current request's id, its
    trace (with a new parent id for this call) and the headers named in ``propagate``
    it came with; a new trace outside a request."""
    request = current_request.get()
    span = secrets.token_hex(8)
    if request is None:
        return {"traceparent": f"00-{secrets.token_hex(16)}-{span}-01"}
    trace = f"00-{_trace_id(request)}-{span}-01"
    headers = {"X-Request-ID": request_id(request), "traceparent": trace}
    for name in propagate:
        value = request.headers.get(name)
        if value is not None:
            headers[name] = value
    return headers


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
