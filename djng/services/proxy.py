"""``ContextProxy``: an object Django holds that forwards to the service in effect.

Django builds its backends once and caches them (``caches``, ``storages``,
``Engine.get_default``); djng gives it these proxies instead, which look the
backend up on every access. ``LazyObject`` already forwards attributes,
operators and ``__class__``, so ``isinstance(proxy, Storage)`` holds.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import LazyObject


class ContextProxy(LazyObject):
    """Forwards everything to ``self._target()``, read afresh on each access."""

    def _target(self) -> Any:
        raise NotImplementedError

    @property
    def _wrapped(self) -> Any:
        return self._target()

    @_wrapped.setter
    def _wrapped(self, value: Any) -> None:
        pass  # LazyObject.__init__ resets it; the target is never stored

    def _setup(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} -> {self._target()!r}>"
