"""djng: Django without settings.py.

Every layer is a ``request -> response`` callable, and configuration is a
context-local stack of swappable services. ``import djng`` configures Django.
"""

from . import conf
from .services import django_settings

conf.configure(django_settings())

from django import forms  # noqa: E402

# Not lazy: once the module djng.asgi is imported (djng.testing.AsyncClient and
# serve(server='uvicorn') import it), the name djng.asgi would be the module.
from .asgi import asgi  # noqa: E402
from .from_wsgi import from_wsgi  # noqa: E402
from .health import health  # noqa: E402
from .in_process import InProcess as _InProcess  # noqa: E402
from .legacy import ErrorWrapper, escape, template  # noqa: E402
from .lifespan import lifespan  # noqa: E402
from .middleware import gzip, middleware  # noqa: E402
from .openapi import openapi, openapi_page  # noqa: E402 - not lazy, as asgi above
from .problems import Problem, answers  # noqa: E402
from .reconfigure import reconfigure  # noqa: E402
from .registry import install  # noqa: E402
from .remote import remote  # noqa: E402
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
from .router import Route, Router, mount, path, re_path, reverse, websocket  # noqa: E402
from .serve import serve  # noqa: E402
from .services import (  # noqa: E402
    cache,
    clients,
    db,
    debug,
    errors,
    hosts,
    mail,
    pubsub,
    secrets,
    settings,
    storage,
    templates,
)
from .sse import sse  # noqa: E402 - not lazy, as asgi above
from .state import copy_current_context  # noqa: E402
from .websocket import WebSocket, WebSocketDisconnect  # noqa: E402
from .wsgi import wsgi  # noqa: E402

clients.InProcess = _InProcess


def _importable_services() -> None:
    """``from djng.cache import LocMem``, ``import djng.db``: each service reads as the
    module its name suggests (the import system hands out the service object)."""
    import sys

    from .services import SERVICES

    for name, service in SERVICES.items():
        sys.modules.setdefault(f"{__name__}.{name}", service)


_importable_services()

__version__ = "0.1.0"


#: Exported on first use, so that an app pays only for what it uses:
#: name -> (module, attribute or None for the module itself).
_LAZY = {
    "Request": (".request", "Request"),
    "testing": (".testing", None),
    "commands": (".commands", None),
    "Model": (".models", "Model"),  # defining a model needs Django's app registry
    "models": (".models", None),
    "messages": (".messages", None),
    "sessions": (".batteries.sessions", "sessions"),
    "csrf_exempt": (".batteries.csrf", "csrf_exempt"),
    "auth": (".batteries.auth", "auth"),
    "login_required": (".batteries.auth", "login_required"),
    "static": (".batteries.static", "static"),
    "admin": (".batteries.admin", "admin"),
}


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'djng' has no attribute {name!r}") from None
    import importlib

    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


__all__ = [
    "ErrorWrapper",
    "FileResponse",
    "Http404",
    "JsonResponse",
    "Model",
    "Problem",
    "Request",
    "Response",
    "Route",
    "Router",
    "StreamingResponse",
    "TemplateResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "admin",
    "answers",
    "asgi",
    "auth",
    "cache",
    "clients",
    "copy_current_context",
    "csrf_exempt",
    "db",
    "debug",
    "errors",
    "escape",
    "forms",
    "from_wsgi",
    "gzip",
    "health",
    "hosts",
    "install",
    "lifespan",
    "login_required",
    "mail",
    "messages",
    "middleware",
    "models",
    "mount",
    "openapi",
    "openapi_page",
    "path",
    "pubsub",
    "re_path",
    "reconfigure",
    "remote",
    "redirect",
    "render",
    "reverse",
    "secrets",
    "serve",
    "sessions",
    "settings",
    "sse",
    "static",
    "storage",
    "template",
    "templates",
    "testing",
    "websocket",
    "wsgi",
]
