"""djng's services: each one a context-local stack of swappable backends."""

from .debug import debug
from .errors import errors
from .stack import Service, Use, in_request

__all__ = ["Service", "Use", "debug", "errors", "in_request"]
