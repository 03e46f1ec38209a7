"""Process set-up before the first request, in one place: explicit and idempotent.

``import djng`` configures Django's settings (``djng.conf``). Serving needs a
few more steps, which every adapter (``djng.wsgi()``) takes through
:func:`prepare` before it answers anything, so that what is wrong fails at
start-up, once and clearly, rather than in the middle of a request:

1. Django's app registry is populated (``djng.registry.setup``);
2. Django's per-request housekeeping is guarded (``djng.housekeeping``), and
   the urlconf kept in a plain context variable (``djng._django``), when djng
   configured Django;
3. the ``DJNG_*`` environment variables are read: each service whose variable
   is set builds its default now, so a bad URL fails here;
4. the secret key is checked, if something that signs (sessions, auth) is used,
   unless the app is defined by the script Python runs (``python app.py``, where
   the module-level ``application = djng.wsgi(app)`` comes before the
   ``djng.serve()`` that makes it a development run with a generated key); such
   an app's key is checked when it is first used.
"""

from __future__ import annotations

from typing import Any

from . import _django, conf, housekeeping, propagation, registry
from .services import load_environment, secrets

__all__ = ["defined_by_script", "prepare"]


def prepare(app: Any = None) -> None:
    """Ready the process to serve ``app`` (safe to call again; later calls redo only the
    checks)."""
    registry.setup()
    propagation.install_log_records()
    if conf.owns_settings:
        housekeeping.install()
        _django.context_local_urlconf()
    load_environment()
    if not defined_by_script(app):
        secrets.check()  # an app that signs cookies needs a key: say so now, not mid-request


def defined_by_script(app: Any) -> bool:
    """True for an app defined by the script Python runs (``python app.py``).

    Its module-level ``djng.wsgi(app)`` runs before the ``djng.serve()`` that makes
    the run a development one, so production checks wait: under a real server
    the module has its own name.
    """
    return getattr(app, "__module__", None) == "__main__"
