"""``djng.debug``: whether an unhandled exception shows Django's technical 500 page."""

from __future__ import annotations

from .stack import Service


def _coerce(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("Pass True or False")
    return value


class DebugService(Service[bool]):
    """A boolean service; ``djng.debug.push(True)`` turns debug pages on for one request."""

    def __bool__(self) -> bool:
        return self.current()


debug = DebugService("debug", expects="True or False", coerce=_coerce, default=lambda: False)
