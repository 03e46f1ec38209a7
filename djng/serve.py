"""``serve(app)``: the development server.

werkzeug's threaded WSGI server by default: async views run to completion in
the request's thread and streams (async ones too) are sent chunk by chunk.
``server='uvicorn'`` (or ``DJNG_SERVER=uvicorn``) serves ``djng.asgi(app)``
under uvicorn instead, as in production with async views. Both reload with
``reload=True``.

For production, hand ``djng.wsgi(app)`` to a WSGI server such as gunicorn, or
``djng.asgi(app)`` to uvicorn.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable

from . import location
from .services import debug as debug_service
from .services import secrets
from .wsgi import WSGIHandler

__all__ = ["SERVERS", "serve"]

#: The development servers ``serve()`` can run.
SERVERS = ("werkzeug", "uvicorn")


def serve(
    app: Callable,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    reload: bool = False,
    debug: bool = False,
    migrate: bool = True,
    server: str | None = None,
) -> None:
    """Serve ``app`` over HTTP for development.

    ``server`` is ``'werkzeug'`` (werkzeug's threaded WSGI server, the default)
    or ``'uvicorn'`` (``djng.asgi(app)`` under uvicorn: install ``djng[uvicorn]``);
    the default is ``DJNG_SERVER``, else werkzeug. Sync and async views work
    under both. ``reload=True`` restarts the process when code changes;
    ``debug=True`` shows Django's technical 500 page for unhandled exceptions.
    Ctrl-C stops it. ``migrate=True`` applies pending migrations and creates
    missing tables before the first request, if the app uses a database. When
    the script's command line names a management command (``python app.py
    migrate``), that command runs instead of the server (see ``djng.commands``).
    """
    from werkzeug.serving import is_running_from_reloader, run_simple

    from . import commands

    server = _server(server)
    if commands.run_from_argv():
        return
    if debug:
        debug_service.configure(True)
    secrets.development_server()  # a missing key is generated and kept next to the app
    location.remember(app)
    if not is_running_from_reloader():
        _check_port(host, port)
    if migrate and (not reload or is_running_from_reloader()):
        commands.prepare_database()
    try:
        if server == "uvicorn":
            _uvicorn(app, host, port, reload)
        else:
            handler = app if isinstance(app, WSGIHandler) else WSGIHandler(app)
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


def _server(name: str | None) -> str:
    name = name or os.environ.get("DJNG_SERVER") or "werkzeug"
    if name not in SERVERS:
        raise ValueError(
            f"djng.serve(server={name!r}): the development servers are {', '.join(SERVERS)} "
            "(or set DJNG_SERVER)"
        )
    return name


def _uvicorn(app: Callable, host: str, port: int, reload: bool) -> None:
    """``djng.asgi(app)`` under uvicorn; the reload is werkzeug's (uvicorn's needs an
    import string, and ``python app.py`` has none), restarting the whole script."""
    try:
        import uvicorn
    except ImportError:
        raise SystemExit(
            "djng: serve(server='uvicorn') needs uvicorn: pip install 'djng[uvicorn]'"
        ) from None
    from .asgi import asgi

    application = asgi(app)
    # djng decides which proxy headers to believe (djng.proxy), not uvicorn.
    run = lambda: uvicorn.run(application, host=host, port=port, proxy_headers=False)  # noqa: E731
    if not reload:
        run()
        return
    from werkzeug._reloader import run_with_reloader  # werkzeug's own, as run_simple uses it

    run_with_reloader(run, reloader_type="stat")


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
