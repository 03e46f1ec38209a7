"""djng: Django without settings.py.

Every layer is a ``request -> response`` callable, and configuration is a
context-local stack of swappable services. ``import djng`` configures Django.
"""

from . import conf

conf.configure()

from django import forms  # noqa: E402

from . import messages  # noqa: E402
from .admin import admin  # noqa: E402
from .auth import auth, login_required  # noqa: E402
from .csrf import csrf_exempt  # noqa: E402
from .health import health  # noqa: E402
from .middleware import gzip, middleware  # noqa: E402
from .mounting import from_wsgi  # noqa: E402
from .responses import (  # noqa: E402
    FileResponse,
    Http404,
    JsonResponse,
    Response,
    StreamingResponse,
    TemplateResponse,
    redirect,
    render,
)
from .router import Route, Router, mount, path, re_path, reverse  # noqa: E402
from .serve import serve, wsgi  # noqa: E402
from .services import (  # noqa: E402
    cache,
    db,
    debug,
    errors,
    mail,
    reconfigure,
    secrets,
    storage,
    templates,
)
from .sessions import sessions  # noqa: E402
from .static import static  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name: str):
    # Loaded on first use: both import Django's WSGI machinery, which a
    # process that only defines its app does not need yet.
    if name == "Request":
        from .request import Request

        return Request
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    if name in ("Model", "models"):
        # Defining a model needs Django's app registry, populated on first use.
        import importlib

        models = importlib.import_module(".models", __name__)
        return models if name == "models" else models.Model
    raise AttributeError(f"module 'djng' has no attribute {name!r}")

__all__ = [
    "FileResponse",
    "Http404",
    "JsonResponse",
    "Model",
    "Request",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "TemplateResponse",
    "admin",
    "auth",
    "cache",
    "csrf_exempt",
    "db",
    "debug",
    "errors",
    "forms",
    "from_wsgi",
    "gzip",
    "health",
    "login_required",
    "mail",
    "messages",
    "middleware",
    "models",
    "mount",
    "path",
    "re_path",
    "reconfigure",
    "redirect",
    "render",
    "reverse",
    "secrets",
    "serve",
    "sessions",
    "static",
    "storage",
    "templates",
    "testing",
    "wsgi",
]
