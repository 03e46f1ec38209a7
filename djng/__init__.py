"""djng: Django without settings.py.

Every layer is a ``request -> response`` callable, and configuration is a
context-local stack of swappable services. ``import djng`` configures Django.
"""

from . import conf

conf.configure()

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
    storage,
    templates,
)

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
    raise AttributeError(f"module 'djng' has no attribute {name!r}")

__all__ = [
    "FileResponse",
    "Http404",
    "JsonResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "TemplateResponse",
    "cache",
    "db",
    "debug",
    "errors",
    "from_wsgi",
    "gzip",
    "health",
    "mail",
    "middleware",
    "mount",
    "path",
    "re_path",
    "reconfigure",
    "redirect",
    "render",
    "reverse",
    "serve",
    "storage",
    "templates",
    "testing",
    "wsgi",
]
