"""``serve(app)``: the development server (werkzeug's, threaded).

For production, hand ``djng.wsgi(app)`` to a WSGI server such as gunicorn.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from . import location
from .services import debug as debug_service
from .services import secrets
from .wsgi import WSGIHandler

__all__ = ["serve"]


def serve(
    app: Callable,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    reload: bool = False,
    debug: bool = False,
    migrate: bool = True,
) -> None:
    """Serve ``app`` over HTTP for development (werkzeug's threaded server).

    ``reload=True`` restarts the process when code changes; ``debug=True`` shows
    Django's technical 500 page for unhandled exceptions. Ctrl-C stops it.
    ``migrate=True`` applies pending migrations and creates missing tables
    before the first request, if the app uses a database. When the script's
    command line names a management command (``python app.py migrate``), that
    command runs instead of the server (see ``djng.commands``).
    """
    from werkzeug.serving import is_running_from_reloader, run_simple

    from . import commands

    if commands.run_from_argv():
        return
    if debug:
        debug_service.configure(True)
    secrets.development_server()  # a missing key is generated and kept next to the app
    location.remember(app)
    handler = app if isinstance(app, WSGIHandler) else WSGIHandler(app)
    if not is_running_from_reloader():
        _check_port(host, port)
    if migrate and (not reload or is_running_from_reloader()):
        commands.prepare_database()
    try:
        run_simple(
            host,
            port,
            handler,
            threaded=True,
            use_reloader=reload,
            reloader_type="stat",
            use_debugger=False,
        )
    except KeyboardInterrupt:
        pass


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line, not a traceback, when the address cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise SystemExit(
            f"djng: cannot listen on {host}:{port}: {reason}. "
            "Stop the other server or choose another port: djng.serve(app, port=...)."
        ) from None
