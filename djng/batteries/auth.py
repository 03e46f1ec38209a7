"""``djng.auth(app)``: ``request.user`` from Django's auth, and the helpers around it.

``djng.auth(app)`` is Django's ``AuthenticationMiddleware`` inside
``djng.sessions()`` (so CSRF protection and flash messages come with it). Users
are Django's ``auth.User`` in the ``djng.db`` in effect; their tables are made
like any other model's (``djng.db.create_tables()`` or ``migrate``). Sessions
are kept in the database by default, so that logging out ends them: a copied
session cookie is worth nothing afterwards.

- ``djng.auth.login(request, user)``, ``logout(request)``, ``authenticate(request, ...)``
  are Django's; ``djng.auth.User`` is the user model.
- ``djng.auth.login_view(template_name)`` and ``logout_view()`` are Django's
  ``LoginView`` and ``LogoutView`` for a Router.
- ``djng.login_required`` (also ``djng.auth.login_required``) protects any view,
  Router or mounted app. ``import djng.auth`` and ``from djng.auth import User``
  work too (``djng/auth.py`` hands out this same object).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .. import registry
from ..layers import async_of, layer
from ..services.secrets import secrets
from ..state import state
from ..websocket import WRAPS_WEBSOCKETS, http_request
from ..workers import in_worker
from .csrf import once

__all__ = ["Auth", "auth", "login_required"]


class Auth:
    """``djng.auth``: call it to wrap an app; its attributes are the auth helpers."""

    def __call__(
        self,
        app: Callable,
        *,
        login_url: str = "/login",
        session_backend: str = "db",
    ) -> Callable:
        """``app`` with ``request.user`` (``AnonymousUser`` until someone logs in).

        ``login_url`` (a path or a route name) is where ``djng.login_required``
        sends anonymous visitors. Sessions are added with ``session_backend``
        unless an outer layer already has them: ``'db'`` (the ``django_session``
        table of the ``djng.db`` in effect), ``'cache'`` when the cache is shared
        by every worker (Redis), or ``'signed_cookies'``, which keeps nothing on
        the server, so that logging out cannot end a session whose cookie was copied.
        """
        if not callable(app):
            raise TypeError(f"djng.auth() needs a view to wrap, got {app!r}")
        registry.install_batteries()  # the auth middleware imports the auth models
        from django.contrib.auth.middleware import AuthenticationMiddleware

        from ..commands import need_tables
        from ..middleware import middleware
        from .sessions import sessions

        secrets.require("auth")
        need_tables("auth", "contenttypes")

        def with_login_url(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            request_state = state(request)
            saved, request_state.login_url = request_state.login_url, login_url
            try:
                return app(request, *args, **kwargs)
            finally:
                request_state.login_url = saved

        async def awith_login_url(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            request_state = state(request)
            saved, request_state.login_url = request_state.login_url, login_url
            try:
                return await async_of(app)(request, *args, **kwargs)
            finally:
                request_state.login_url = saved

        authenticated = middleware(AuthenticationMiddleware)(
            layer(with_login_url, app, awith_login_url)
        )
        return sessions(once(_has_user, authenticated, app), session_backend)

    # -- Django's helpers ---------------------------------------------------------------

    @staticmethod
    def login(request: HttpRequest, user: Any, backend: str | None = None) -> None:
        """Log ``user`` in for this session (Django's ``login``: a new session key)."""
        from django.contrib.auth import login

        login(request, user, backend=backend)

    @staticmethod
    def logout(request: HttpRequest) -> None:
        """Log the user out and flush the session (Django's ``logout``)."""
        from django.contrib.auth import logout

        logout(request)

    @staticmethod
    def authenticate(request: HttpRequest | None = None, **credentials: Any) -> Any:
        """The user these credentials belong to, or None (Django's ``authenticate``)."""
        from django.contrib.auth import authenticate

        return authenticate(request, **credentials)

    @property
    def User(self) -> type:  # noqa: N802 - a class, as Django names it
        """The user model (``get_user_model()``)."""
        registry.install_batteries()
        from django.contrib.auth import get_user_model

        return get_user_model()

    @staticmethod
    def login_view(
        template_name: str = "login.html",
        *,
        next_page: str = "/",
        redirect_authenticated_user: bool = False,
        **options: Any,
    ) -> Callable:
        """Django's ``LoginView``: renders ``template_name`` with ``form`` and logs in on POST.

        After logging in it goes to the ``next`` parameter (when it is on this
        site) or ``next_page`` (a path or a route name).
        """
        registry.install_batteries()
        from django.contrib.auth.views import LoginView

        return LoginView.as_view(
            template_name=template_name,
            next_page=next_page,
            redirect_authenticated_user=redirect_authenticated_user,
            **options,
        )

    @staticmethod
    def logout_view(*, next_page: str = "/", **options: Any) -> Callable:
        """Django's ``LogoutView``: a POST (with a CSRF token) logs out, then redirects."""
        registry.install_batteries()
        from django.contrib.auth.views import LogoutView

        return LogoutView.as_view(next_page=next_page, **options)

    @property
    def login_required(self) -> Callable:
        """``djng.login_required``, also here: ``from djng.auth import login_required``."""
        return login_required

    def __repr__(self) -> str:
        return "<djng.auth>"


auth = Auth()


def _has_user(request: Any) -> bool:
    return "user" in request.__dict__  # set by Django's AuthenticationMiddleware


def login_required(
    view: Callable | None = None,
    *,
    login_url: str | None = None,
    redirect_field_name: str = "next",
) -> Callable:
    """Only logged-in users reach ``view`` (any view, a Router or a mounted app, or a
    websocket handler: ``djng.websocket('feed', login_required(feed))``).

    Anyone else is redirected to the login page with ``?next=`` set (a client
    that asks for JSON gets a 401 instead). The login page is ``login_url``, else
    the one given to the enclosing ``djng.auth(app, login_url=...)``.
    """

    def decorate(view: Callable) -> Callable:
        if not callable(view):
            raise TypeError(f"djng.login_required needs a view, got {view!r}")

        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if _logged_in(request):
                return view(request, *args, **kwargs)
            return _to_login(request, login_url, redirect_field_name)

        async def aprotected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            # request.user is lazy: loading it reads the session and the user table.
            if await in_worker(_logged_in)(request):
                return await async_of(view)(request, *args, **kwargs)
            return _to_login(request, login_url, redirect_field_name)

        wrapped = layer(protected, view, aprotected)
        setattr(wrapped, WRAPS_WEBSOCKETS, True)  # the websocket's user, its handshake's answer
        return wrapped

    return decorate if view is None else decorate(view)


def _logged_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "djng.login_required needs request.user: wrap the app with djng.auth(app)"
        )
    return user.is_authenticated


def _to_login(request: HttpRequest, login_url: str | None, field: str) -> HttpResponseBase:
    from django.conf import settings
    from django.contrib.auth.views import redirect_to_login
    from django.shortcuts import resolve_url

    from ..responses import error_response, preferred_type

    request = http_request(request)  # around a websocket handler: the handshake's
    if preferred_type(request, ("text/html", "application/json")) == "application/json":
        return error_response(request, 401, "Log in first.")
    url = login_url or state(request).login_url or settings.LOGIN_URL
    return redirect_to_login(request.get_full_path(), resolve_url(url), field)
