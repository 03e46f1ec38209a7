"""``djng.admin(models=[...])``: Django's admin for some models, as an app to mount.

The admin is Django's own ``AdminSite``; djng gives it what ``settings.py`` used
to: sessions, ``request.user``, CSRF and messages (``djng.auth``, unless an
outer layer has them already) and, for its requests only, a Django template
engine with the admin's templates and context processors. Its URL names
(``admin:index``, ``admin:<app>_<model>_changelist``...) reverse to wherever it
is mounted. It reads and writes the ``djng.db`` in effect.

Put it straight in a Router (it mounts itself at ``prefix``) or mount it
anywhere: ``djng.mount('staff', djng.admin(models=[Note]))``. Its CSS and
JavaScript come from ``djng.static(app)`` in development.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .. import registry
from ..layers import router_of
from ..router import DjangoURLs, Route

__all__ = ["AdminRoute", "CONTEXT_PROCESSORS", "admin"]

#: The context processors the admin's templates need.
CONTEXT_PROCESSORS = (
    "django.template.context_processors.request",
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
)


def admin(
    models: Iterable[Any] = (),
    *,
    prefix: str = "admin/",
    site: Any = None,
    templates: Any = None,
    session_backend: str = "db",
) -> AdminRoute:
    """Django's admin for ``models``: a route to put in a Router, and an app to mount.

    Each entry of ``models`` is a model or a ``(model, ModelAdmin subclass)``
    pair; Django's ``User`` and ``Group`` get Django's own ``UserAdmin`` and
    ``GroupAdmin``. ``site`` is an ``AdminSite`` to use instead of a new one
    (register its models before calling this). ``templates`` replaces the
    admin's template engine, e.g. to override admin templates from a folder
    (it needs ``app_dirs=True`` and :data:`CONTEXT_PROCESSORS`). Sessions are
    added with ``session_backend`` unless an outer layer has them.
    """
    registry.install_batteries()
    # Registers UserAdmin and GroupAdmin with Django's default site, where djng finds them.
    import django.contrib.auth.admin  # noqa: F401
    from django.contrib.admin import AdminSite, ModelAdmin
    from django.contrib.admin import site as default_site

    from ..commands import need_tables
    from ..reconfigure import reconfigure
    from ..services.templates import Django
    from .auth import auth

    if isinstance(models, (type, tuple)) or not isinstance(models, Iterable):
        raise TypeError("djng.admin(models=[...]) takes a list of models")
    site = site if site is not None else AdminSite(name="admin")
    for entry in models:
        model, model_admin = entry if isinstance(entry, tuple) else (entry, None)
        if model_admin is None:
            registered = default_site.is_registered(model)
            model_admin = type(default_site.get_model_admin(model)) if registered else ModelAdmin
        site.register(model, model_admin)
    need_tables("admin", "auth", "contenttypes")
    if templates is None:
        templates = Django(app_dirs=True, context_processors=CONTEXT_PROCESSORS)
    urls, app_name, namespace = site.urls
    sections = DjangoURLs(urls, app_name=app_name, namespace=namespace)
    app = reconfigure(auth(sections, session_backend=session_backend), templates=templates)
    route = AdminRoute.mount(prefix, app)
    route.site = site
    return route


class AdminRoute(Route):
    """The admin as a route (mounted at its prefix) that is also an app (a view).

    In a Router's routes it mounts itself; anywhere a view goes (``djng.mount``,
    ``serve``, the test client) it is the admin app. ``.site`` is its ``AdminSite``.
    """

    __slots__ = ("site",)

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return self.view(request, *args, **kwargs)

    @property
    def djng_router(self) -> Any:
        return router_of(self.view)

    def __repr__(self) -> str:
        return f"djng.admin(prefix={self.source.split('(', 1)[1].rstrip(')')})"
