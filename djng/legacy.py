"""Names of the 2009 djng, as thin aliases over today's API.

Simon Willison's original djng (github.com/simonw/djng) published examples
using ``djng.ErrorWrapper``, ``djng.middleware.GZip``, ``djng.escape`` and
``djng.template.configure``; with these they serve their pages unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from django.utils.html import escape  # djng.escape: Django's own, as in 2009

from .middleware import gzip, middleware
from .responses import TemplateResponse
from .services.errors import errors
from .services.templates import templates

__all__ = ["ErrorWrapper", "escape", "template"]


def ErrorWrapper(
    app: Callable,
    custom_404: Callable | None = None,
    custom_500: Callable | None = None,
) -> Callable:
    """``djng.errors(app, not_found=custom_404, server_error=custom_500)``.

    Without either view, ``app`` is returned as it is: djng's own 404 and 500
    pages already answer for it.
    """
    if custom_404 is None and custom_500 is None:
        return app
    return errors(app, not_found=custom_404, server_error=custom_500)


def _configure_templates(template_dirs: str | Path | list) -> None:
    """``djng.templates.configure(djng.templates.Django(dirs=[folder]))``; one folder or a list."""
    if isinstance(template_dirs, (str, Path)):
        template_dirs = [template_dirs]
    templates.configure(templates.Django(dirs=template_dirs))


#: ``djng.template.configure(folder)`` and ``djng.template.TemplateResponse``.
template = SimpleNamespace(configure=_configure_templates, TemplateResponse=TemplateResponse)

#: ``djng.middleware.GZip(view)`` is ``djng.gzip(view)`` (Django's GZipMiddleware).
middleware.GZip = gzip
