"""What djng keeps about the request being served, declared in one place.

Django's request object carries Django's own state (``session``, ``user``,
``resolver_match``...). djng's state of a request is one :class:`RequestState`,
``request.djng`` (made by :func:`state` on first use), and nothing else: no
layer sets attributes of its own on requests, responses or exceptions.

The lifecycle of serving lives beside it, in context variables, so that it
follows the request's own context (a copy per request, see ``djng.wsgi``):

- :data:`in_request`: true inside a request served by djng; ``S.push()`` needs it;
- :data:`cache_handle_opened`: this request's context used a Django cache
  handle, so Django's ``close_caches`` has work when the request ends;
- the current Router, for ``reverse()`` and ``{% url %}``, is Django's own
  urlconf (``django.urls.set_urlconf``), which is context-local already.

Each request runs in a copy of the caller's context, and :func:`start_request`
sets the lifecycle's variables there (these two, the urlconf and the script
prefix) to their starting values, whatever the server left in its own context.
The service stacks are copied as they are: a server pushes nothing, and what a
test pushes around its client (``with djng.cache.use(...)``) is meant to reach
the request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

__all__ = [
    "RequestState", "cache_handle_opened", "copy_current_context", "in_request", "peek",
    "request_variable", "start_request", "state",
]

T = TypeVar("T")

#: The context variables a request starts from scratch, with their starting values.
_request_variables: list[tuple[ContextVar, Any]] = []


def request_variable(variable: ContextVar[T], start: Any) -> ContextVar[T]:
    """Declare ``variable`` per-request: every request starts with it set to ``start``."""
    _request_variables.append((variable, start))
    return variable


def start_request() -> None:
    """Start a request in the current context (the request's own copy): djng's
    per-request variables at their start, then ``in_request``.

    What the server (or an earlier request, through a server that reuses a
    context) left in the lifecycle's variables does not reach the request;
    other libraries' variables (tracing, logging) are kept.
    """
    for variable, start in _request_variables:
        variable.set(start)
    in_request.set(True)


#: True inside a request served by djng (set in the request's own context copy).
in_request: ContextVar[bool] = request_variable(ContextVar("djng.in_request", default=False), False)

#: Set by ``ContextCache`` when the cache is used in this context.
cache_handle_opened: ContextVar[bool] = request_variable(
    ContextVar("djng.cache_handle_opened", default=False), False
)


class RequestState:
    """djng's state of one request (``request.djng``).

    A layer that sets a field for the app it wraps (``route_args``,
    ``view_hooks``, ``login_url``) puts the old value back when the app returns,
    so siblings and outer layers never see it.
    """

    __slots__ = (
        "view_hooks", "route_args", "error", "reported", "login_url", "csrf", "request_id",
        "trace_id", "deadline",
    )

    def __init__(self) -> None:
        #: Django middleware instances whose ``process_view``/``process_exception``/
        #: ``process_template_response`` wait for the endpoint (``djng.handler``).
        self.view_hooks: tuple = ()
        #: What the enclosing route captured, for the app a ``djng.middleware`` wraps.
        self.route_args: tuple[tuple, dict[str, Any]] = ((), {})
        #: ``(exception, response)``: the last exception the one rule turned into a
        #: response (``djng.errors``), so that error pages further out can replace it.
        self.error: tuple[BaseException, Any] | None = None
        #: The last exception sent to ``djng.errors`` (each is reported once); the
        #: test client raises it again.
        self.reported: BaseException | None = None
        #: Where ``login_required`` sends visitors: the enclosing ``djng.auth(login_url=)``.
        self.login_url: str | None = None
        #: A djng CSRF layer checks this request (an inner one then does nothing).
        self.csrf: bool = False
        #: ``request.id`` and the trace id, made on first use (``djng.propagation``).
        self.request_id: str | None = None
        self.trace_id: str | None = None
        #: When the request's own calls must end (``time.monotonic()``), if it came
        #: with an ``X-Request-Timeout`` (``djng.propagation``).
        self.deadline: float | None = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"<RequestState {fields}>"


def state(request: Any) -> RequestState:
    """djng's state of ``request``, created on first use (any Django request will do)."""
    found = request.__dict__.get("djng")
    if found is None:
        found = request.__dict__["djng"] = RequestState()
    return found


def copy_current_context(func: Callable[..., T]) -> Callable[..., T]:
    """``func``, to run in a copy of the current context: the services in effect now.

    A thread starts with an empty context, so one that a view starts sees the
    process defaults, not what the view pushed; a pooled thread sees what its
    last job left. ``threading.Thread(target=djng.copy_current_context(work))``
    and ``executor.submit(djng.copy_current_context(work), ...)`` run ``work``
    with the request's services. Each call gets its own copy, so what one call
    pushes is seen by no other. (``contextvars-extras`` names this
    ``bind_to_snapshot_context``; it is these few lines of the standard library.)
    """
    snapshot = copy_context()

    @functools.wraps(func)
    def in_copy(*args: Any, **kwargs: Any) -> T:
        return snapshot.copy().run(func, *args, **kwargs)

    return in_copy


def peek(request: Any) -> RequestState | None:
    """djng's state of ``request`` if a layer has made one, without making it (hot paths)."""
    return request.__dict__.get("djng")
