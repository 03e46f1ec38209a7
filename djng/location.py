"""Where the app lives: the folder of its default ``db.sqlite3``, ``templates/`` and ``media/``.

``DJNG_APP_DIR`` if set; else the folder of the script Python runs
(``python app.py``); else the folder of the module that defines the app handed
to ``djng.wsgi()`` (as under gunicorn, ``module:application``). Never the
working directory: with none of these (a REPL, a script piped on stdin) there
is no folder, and the defaults that need one say so.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from pathlib import Path
from typing import Any

__all__ = ["app_dir", "defining_module", "forget", "is_installed_code", "remember"]

_served_app_dir: Path | None = None
_lock = threading.Lock()


def app_dir() -> Path | None:
    """The folder of the app, or None when it has none (see the module docstring)."""
    configured = os.environ.get("DJNG_APP_DIR")
    if configured:
        return Path(configured).resolve()
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    # a script read from stdin ('<stdin>') has no folder: never the working directory
    if main_file and os.path.isfile(main_file) and not is_installed_code(main_file):
        return Path(main_file).resolve().parent
    return _served_app_dir


def remember(app: Any) -> None:
    """Note the folder of the module that defines ``app`` (the first app served wins).

    An app's ``__module__`` names that module: a function's own, a djng
    wrapper's is copied from what it wraps, and a Router records the module
    that built it. djng's own modules and installed packages do not count.
    """
    global _served_app_dir
    if _served_app_dir is not None:
        return
    module = sys.modules.get(getattr(app, "__module__", None) or "")
    filename = getattr(module, "__file__", None)
    if not filename or is_installed_code(filename) or _is_djng(filename):
        return
    with _lock:
        if _served_app_dir is None:
            _served_app_dir = Path(filename).resolve().parent


def forget() -> None:
    """Forget the served app's folder (for tests that serve several apps)."""
    global _served_app_dir
    with _lock:
        _served_app_dir = None


def defining_module(depth: int = 2) -> str | None:
    """The name of the module whose code is ``depth`` frames up (1 = the caller's caller).

    A Router records it as its ``__module__``, so that the module which built an
    app can be found from the app (:func:`remember`).
    """
    try:
        frame = sys._getframe(depth)  # noqa: SLF001 - CPython's, not Django's; once per Router
    except ValueError:  # the stack is not that deep
        return None
    return frame.f_globals.get("__name__")


def is_installed_code(filename: str) -> bool:
    """True for console scripts and installed packages (pytest, gunicorn, ...)."""
    path = os.path.realpath(filename)
    roots = {sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()}
    return any(path.startswith(os.path.realpath(root) + os.sep) for root in roots if root)


_PACKAGE = os.path.dirname(os.path.realpath(__file__)) + os.sep


def _is_djng(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_PACKAGE)
