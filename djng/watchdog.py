"""Say when something blocks the event loop, and where.

An async view that calls blocking code (``time.sleep``, ``requests``, the sync
ORM...) stops every other request of the process while it runs, and nothing
fails: requests are just slow. ``djng.asgi`` starts this watch on its loop: a
thread that logs a warning, with the stack of the code that holds the loop,
when the loop has not run for ``DJNG_BLOCKED_LOOP_SECONDS`` (default 1; 0 turns
the watch off).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback

__all__ = ["watch"]

_logger = logging.getLogger("djng.asgi")

_watched: set[int] = set()


def threshold() -> float:
    value = os.environ.get("DJNG_BLOCKED_LOOP_SECONDS", "1")
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"DJNG_BLOCKED_LOOP_SECONDS must be a number of seconds (0: off), got {value!r}"
        ) from None


def watch(loop: asyncio.AbstractEventLoop) -> None:
    """Watch ``loop`` (once; call it on the loop's thread)."""
    limit = threshold()
    if limit <= 0 or id(loop) in _watched:
        return
    _watched.add(id(loop))
    interval = limit / 2
    beat = [time.monotonic()]

    def heartbeat() -> None:
        beat[0] = time.monotonic()
        loop.call_later(interval, heartbeat)

    loop.call_soon(heartbeat)
    loop_thread = threading.get_ident()

    def check() -> None:
        warned_for = None
        try:
            while not loop.is_closed():
                time.sleep(interval)
                last = beat[0]
                stalled = time.monotonic() - last
                if stalled > limit and warned_for != last and loop.is_running():
                    warned_for = last
                    frame = sys._current_frames().get(loop_thread)  # noqa: SLF001 - the stdlib's
                    where = "".join(traceback.format_stack(frame)[-8:]) if frame else ""
                    _logger.warning(
                        "djng: the event loop has been blocked for %.1f s, so every other "
                        "request waits. An async view must not call blocking code (time.sleep, "
                        "requests, the sync ORM): await an async call, or make the view a "
                        "plain def (djng runs it on a worker thread). The loop is here:\n%s",
                        stalled, where,
                    )
        finally:
            _watched.discard(id(loop))

    threading.Thread(target=check, name="djng-loop-watch", daemon=True).start()
