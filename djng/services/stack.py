"""The context-local stack every djng service is built on.

A service has a process default at the bottom (visible to every thread and
task) and, above it, a stack of pushed backends held in one ``ContextVar`` as an
immutable tuple. Every request runs in its own copy of the context, so whatever a
request pushes disappears with it; ``use()`` scopes restore with the token.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from ..state import in_request

T = TypeVar("T")

#: Open ``with S.use(...)`` scopes of the current context: (scope, tokens) frames.
_open_scopes: ContextVar[tuple] = ContextVar("djng.open_scopes", default=())

_UNSET: Any = object()


class Service(Generic[T]):
    """One swappable backend: a process default under a context-local stack.

    What a service module declares about its service:

    - ``expects`` says in words what a backend for this service is; ``coerce``
      checks (and normalises) one, or raises ``TypeError``;
    - ``default`` builds the embedded default the first time it is needed;
    - ``from_text`` builds a backend from a string (a URL such as
      ``'redis://...'`` for cache, db and mail), used for strings given to
      ``configure()``/``push()``/``use()`` and for ``environ``, the environment
      variables that name the process default (the first one set wins);
    - ``django_settings``: the Django settings that point Django at the service's
      delegating backend (``djng.conf`` gathers them);
    - ``health_check``: what ``djng.health()`` runs for it (raises if the
      backend in effect cannot be reached).
    """

    def __init__(
        self,
        name: str,
        *,
        expects: str,
        coerce: Callable[[Any], T],
        default: Callable[[], T],
        from_text: Callable[[str], T] | None = None,
        environ: Sequence[str] = (),
        django_settings: Mapping[str, Any] | None = None,
        health_check: Callable[[], Any] | None = None,
    ) -> None:
        self.name = name
        self.expects = expects
        self._coerce = coerce
        self._make_default = default
        self.from_text = from_text
        self.environ = tuple(environ)
        self.django_settings = dict(django_settings or {})
        self.health_check = health_check
        self._default: T = _UNSET
        self._lock = threading.Lock()
        self._stack: ContextVar[tuple[T, ...]] = ContextVar(f"djng.{name}", default=())

    # -- reading ---------------------------------------------------------------

    def current(self) -> T:
        """The backend in effect: the top of the stack, else the process default."""
        stack = self._stack.get()
        if stack:
            return stack[-1]
        default = self._default
        if default is _UNSET:
            default = self._build_default()
        return default

    def default(self) -> T:
        """The process default: the configured backend, or the embedded one (built now)."""
        default = self._default
        return self._build_default() if default is _UNSET else default

    def _build_default(self) -> T:
        with self._lock:
            if self._default is _UNSET:
                backend = self.from_environment()
                self._default = self.coerce(self._make_default() if backend is None else backend)
            return self._default

    def from_environment(self) -> T | None:
        """The backend the environment names (:attr:`environ`), or None if it names none."""
        for variable in self.environ:
            value = os.environ.get(variable)
            if value:
                try:
                    return self.from_text(value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"The environment variable {variable}: {exc}") from None
        return None

    def __getattr__(self, name: str) -> Any:
        # Only public names are forwarded: dunder and private lookups (pickle,
        # inspect.unwrap, copy) must not build the default backend.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)

    # -- changing --------------------------------------------------------------

    def coerce(self, backend: Any) -> T:
        """Check (and normalise) a backend for this service, or raise TypeError.

        A string goes to :attr:`from_text` when the service has one.
        """
        if isinstance(backend, str) and self.from_text is not None:
            return self.from_text(backend)
        try:
            return self._coerce(backend)
        except TypeError as exc:
            raise TypeError(
                f"djng.{self.name} expects {self.expects}, got {backend!r}. {exc}".rstrip(". ")
                + "."
            ) from None

    def configure(self, backend: Any) -> None:
        """Set the process default: every thread and task sees it, unless it pushes its own."""
        backend = self.coerce(backend)
        with self._lock:
            self._default = backend

    def reset(self) -> None:
        """Forget the configured default; the embedded default is built again when needed."""
        with self._lock:
            self._default = _UNSET

    def push(self, backend: Any) -> None:
        """Put ``backend`` in effect until the current request ends."""
        if not in_request.get():
            raise RuntimeError(
                f"djng.{self.name}.push() only works inside a request served by djng "
                "(wsgi(), serve() or the test client). Outside a request use "
                f"`with djng.{self.name}.use(backend):` or djng.{self.name}.configure(backend)."
            )
        backend = self.coerce(backend)
        self._stack.set((*self._stack.get(), backend))

    def use(self, backend: Any) -> Use:
        """A scope: ``with S.use(b):`` or ``@S.use(b)``; restored on exit."""
        return Use(((self, self.coerce(backend)),))

    def __repr__(self) -> str:
        return f"<djng service {self.name!r}>"


class Use:
    """Backends in effect for a ``with`` block or a decorated function.

    The object is reusable and re-entrant: each entry keeps its own token, so one
    decorated view can run in many threads and tasks at once.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: tuple[tuple[Service, Any], ...]) -> None:
        self._pairs = pairs

    def _enter(self) -> list:
        pairs = self._pairs
        return [svc._stack.set((*svc._stack.get(), b)) for svc, b in pairs]  # noqa: SLF001

    def _exit(self, tokens: list) -> None:
        for (svc, _), token in zip(reversed(self._pairs), reversed(tokens), strict=True):
            svc._stack.reset(token)  # noqa: SLF001 - the Service's own stack

    def __enter__(self) -> Use:
        _open_scopes.set((*_open_scopes.get(), (self, self._enter())))
        return self

    def __exit__(self, *exc_info: object) -> None:
        frames = _open_scopes.get()
        for index in range(len(frames) - 1, -1, -1):
            if frames[index][0] is self:
                _open_scopes.set(frames[:index] + frames[index + 1 :])
                self._exit(frames[index][1])
                return
        raise RuntimeError("this djng scope was exited in another context than it was entered in")

    def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` with these backends in effect."""
        tokens = self._enter()
        try:
            return func(*args, **kwargs)
        finally:
            self._exit(tokens)

    async def arun(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await ``func(...)`` with these backends in effect."""
        tokens = self._enter()
        try:
            return await func(*args, **kwargs)
        finally:
            self._exit(tokens)

    def iterate(self, iterable: Any) -> Iterator:
        """Iterate ``iterable`` with these backends in effect for every step."""
        return _ScopedIterator(self, iter(iterable))

    def bind(self, response: Any) -> Any:
        """Make the parts of a response that run later (rendering, streaming) run in scope.

        A lazy ``TemplateResponse`` is rendered, and a streaming body iterated,
        after the view has returned; this scope must still be in effect then. Call
        it while the scope is in effect: what is in effect then for these services,
        including what the view pushed, is what rendering and streaming see.
        """
        stacks = tuple((svc, svc._stack.get()) for svc, _ in self._pairs)  # noqa: SLF001
        frozen = _Frozen(stacks)
        if getattr(response, "streaming", False):
            content = response.streaming_content
            if getattr(response, "is_async", False):
                response.streaming_content = _ScopedAsyncIterator(frozen, aiter(content))
            else:
                response.streaming_content = _ScopedIterator(frozen, iter(content))
        render = getattr(response, "render", None)
        if render is not None and not getattr(response, "is_rendered", True):
            response.render = lambda: frozen.run(render)
        return response

    def __call__(self, func: Callable) -> Callable:
        if inspect.iscoroutinefunction(func):

            async def bound(*args: Any, **kwargs: Any) -> Any:
                return self.bind(await func(*args, **kwargs))

            @functools.wraps(func)
            async def async_scoped(*args: Any, **kwargs: Any) -> Any:
                return await self.arun(bound, *args, **kwargs)

            return async_scoped

        @functools.wraps(func)
        def scoped(*args: Any, **kwargs: Any) -> Any:
            return self.run(lambda: self.bind(func(*args, **kwargs)))

        return scoped


class _Frozen(Use):
    """The stacks of some services as they were at one moment, to run code with later."""

    __slots__ = ()

    def _enter(self) -> list:
        return [svc._stack.set(stack) for svc, stack in self._pairs]  # noqa: SLF001


class _ScopedIterator:
    __slots__ = ("_use", "_iterator")

    def __init__(self, use: Use | _Frozen, iterator: Iterator) -> None:
        self._use = use
        self._iterator = iterator

    def __iter__(self) -> _ScopedIterator:
        return self

    def __next__(self) -> Any:
        return self._use.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            self._use.run(close)


class _ScopedAsyncIterator:
    """An async streaming body, each step with the frozen stacks in effect."""

    __slots__ = ("_use", "_iterator")

    def __init__(self, use: _Frozen, iterator: AsyncIterator) -> None:
        self._use = use
        self._iterator = iterator

    def __aiter__(self) -> _ScopedAsyncIterator:
        return self

    async def __anext__(self) -> Any:
        return await self._use.arun(self._iterator.__anext__)

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await self._use.arun(aclose)
