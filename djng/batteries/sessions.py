"""``djng.sessions(app)``: Django's sessions, with CSRF protection and flash messages.

One layer made of Django's own middleware, in Django's order: ``SessionMiddleware``
(with the backend chosen here, not ``settings.SESSION_ENGINE``), then
``MessageMiddleware`` and ``CsrfViewMiddleware``. Each part is added once: inside
an app that already has sessions (an outer ``djng.sessions``, ``djng.auth`` or
``djng.admin``), it passes the request through, so layers compose.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .. import _django, registry
from ..layers import async_of, layer
from ..services.secrets import secrets
from .csrf import csrf, once

__all__ = ["BACKENDS", "sessions"]

#: The session backends by the name ``djng.sessions(backend=...)`` takes.
BACKENDS = {
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
    "cache": "django.contrib.sessions.backends.cache",
    "db": "django.contrib.sessions.backends.db",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "file": "django.contrib.sessions.backends.file",
}

#: Backends that keep sessions in the django_session table.
_DB_BACKENDS = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}


def sessions(app: Callable, backend: str = "signed_cookies") -> Callable:
    """``app`` with ``request.session``, flash messages and CSRF protection.

    ``backend`` is ``'signed_cookies'`` (the default: the session lives in a cookie
    signed with ``djng.secrets``, no storage needed), ``'cache'`` (the
    ``djng.cache`` in effect), ``'db'`` (the ``django_session`` table of the
    ``djng.db`` in effect), ``'cached_db'``, ``'file'``, or the dotted path of any
    Django session engine. A cookie that fails its signature, or names no stored
    session, is no session: the request starts a new one.
    """
    if not callable(app):
        raise TypeError(f"djng.sessions() needs a view to wrap, got {app!r}")
    engine = _engine(backend)
    secrets.require("sessions")
    if engine in _DB_BACKENDS:
        from ..commands import need_tables

        registry.install_batteries()
        need_tables("sessions")
    from ..middleware import middleware

    inner = csrf(app)
    inner = once(_django.has_messages, middleware(_message_middleware())(inner), inner)
    with_sessions = _secure_on_https(middleware(_session_middleware(engine))(inner))
    return once(_has_session, with_sessions, inner)


def _engine(backend: str) -> str:
    if not isinstance(backend, str):
        raise TypeError(f"djng.sessions(backend=...) takes a name, got {backend!r}")
    engine = BACKENDS.get(backend, backend)
    if "." not in engine:
        raise ValueError(
            f"Unknown session backend {backend!r}: use one of {', '.join(BACKENDS)} "
            "or the dotted path of a Django session engine"
        )
    return engine


def _secure_on_https(app: Callable) -> Callable:
    """Mark the session, CSRF and messages cookies ``Secure`` on a secure request.

    A request is secure over HTTPS, also behind a proxy whose ``X-Forwarded-Proto``
    is trusted (``djng.proxy``): a cookie set over HTTPS is then never sent over
    plain HTTP. Over plain HTTP (development) the cookies stay as they are.
    """
    from django.conf import settings
    from django.contrib.messages.storage.cookie import CookieStorage

    def secure(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.is_secure():
            names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
            for name in (*names, CookieStorage.cookie_name):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return secure(request, app(request, *args, **kwargs))

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return secure(request, await async_of(app)(request, *args, **kwargs))

    return layer(view, app, twin)


def _has_session(request: Any) -> bool:
    return "session" in request.__dict__  # set by Django's SessionMiddleware


@functools.cache
def _session_middleware(engine: str) -> type:
    from django.contrib.sessions.middleware import SessionMiddleware

    store = import_module(engine).SessionStore

    class Sessions(SessionMiddleware):
        """Django's SessionMiddleware with its engine chosen by djng, not by settings."""

        def __init__(self, get_response: Callable) -> None:
            super().__init__(get_response)
            self.SessionStore = store

    Sessions.__qualname__ = f"Sessions[{engine.rsplit('.', 1)[-1]}]"
    return Sessions


@functools.cache
def _message_middleware() -> type:
    from django.contrib.messages.middleware import MessageMiddleware

    return MessageMiddleware
