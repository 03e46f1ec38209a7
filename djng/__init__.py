"""djng: Django without settings.py.

Every layer is a ``request -> response`` callable, and configuration is a
context-local stack of swappable services. ``import djng`` configures Django.
"""

from . import conf

conf.configure()

from . import testing  # noqa: E402
from .middleware import gzip, middleware  # noqa: E402
from .mounting import from_wsgi  # noqa: E402
from .request import Request  # noqa: E402
from .responses import (  # noqa: E402
    FileResponse,
    Http404,
    JsonResponse,
    Response,
    StreamingResponse,
    redirect,
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

__all__ = [
    "FileResponse",
    "Http404",
    "JsonResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "cache",
    "db",
    "debug",
    "errors",
    "mail",
    "reconfigure",
    "storage",
    "templates",
    "from_wsgi",
    "gzip",
    "middleware",
    "mount",
    "path",
    "re_path",
    "redirect",
    "reverse",
    "serve",
    "testing",
    "wsgi",
]
