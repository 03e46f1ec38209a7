"""``djng.templates``: template engines on a context-local stack.

``render_to_string``, ``get_template``, ``TemplateResponse``, ``Template(...)``
and form rendering follow the engine in effect, because Django's ``TEMPLATES``
names :class:`ContextTemplates` and ``FORM_RENDERER`` renders through it.
An engine is built only when a template is first needed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import django.forms
from django.core.exceptions import ImproperlyConfigured
from django.template.backends.base import BaseEngine
from django.template.backends.django import DjangoTemplates

from .. import _django, location, registry
from .stack import Service

__all__ = ["ContextTemplates", "Django", "Jinja2", "TemplateEngine", "templates"]

_FORMS_DIR = Path(django.forms.__file__).parent


class TemplateEngine:
    """Base class: a lazily built Django template backend (``.backend``)."""

    _build_lock = threading.Lock()

    @cached_property
    def backend(self) -> BaseEngine:
        with self._build_lock:
            registry.setup()
            return self._build()

    def _build(self) -> BaseEngine:
        raise NotImplementedError

    def get_template(self, name: str) -> Any:
        return self.backend.get_template(name)

    def from_string(self, source: str) -> Any:
        return self.backend.from_string(source)

    def render(self, name: str, context: Mapping | None = None, request: Any = None) -> str:
        """Render the template called ``name`` with ``context``."""
        return self.get_template(name).render(context, request)


class Django(TemplateEngine):
    """Django's template language, from folders (``dirs``) and/or in-file ``strings``.

    Folders are searched first, then ``strings`` ({name: source}), then Django's
    own form templates. Templates are compiled once and cached unless ``debug``.
    """

    def __init__(
        self,
        dirs: Iterable[str | Path] = (),
        *,
        strings: Mapping[str, str] | None = None,
        context_processors: Sequence[str] = (),
        builtins: Sequence[str] = (),
        libraries: Mapping[str, str] | None = None,
        app_dirs: bool = False,
        debug: bool = False,
        autoescape: bool = True,
        string_if_invalid: str = "",
    ) -> None:
        if isinstance(dirs, (str, Path)):
            raise TypeError("djng.templates.Django(dirs=...) takes a list of folders")
        self.dirs = [str(d) for d in dirs]
        self.strings = dict(strings or {})
        self.options = {
            "context_processors": list(context_processors),
            "builtins": list(builtins),
            "libraries": dict(libraries or {}),
            "debug": debug,
            "autoescape": autoescape,
            "string_if_invalid": string_if_invalid,
        }
        self.app_dirs = app_dirs

    def _build(self) -> DjangoTemplates:
        loaders: list[Any] = [("django.template.loaders.filesystem.Loader", self.dirs)]
        if self.strings:
            loaders.append(("django.template.loaders.locmem.Loader", self.strings))
        if self.app_dirs:
            loaders.append("django.template.loaders.app_directories.Loader")
        forms = str(_FORMS_DIR / "templates")
        loaders.append(("django.template.loaders.filesystem.Loader", [forms]))
        if not self.options["debug"]:
            loaders = [("django.template.loaders.cached.Loader", loaders)]
        return DjangoTemplates(
            {
                "NAME": "djng",
                "DIRS": self.dirs,
                "APP_DIRS": False,
                "OPTIONS": {**self.options, "loaders": loaders},
            }
        )

    @property
    def engine(self) -> Any:
        """The underlying ``django.template.Engine``."""
        return self.backend.engine

    def __repr__(self) -> str:
        parts = [repr(self.dirs)] if self.dirs else []
        if self.strings:
            parts.append(f"strings={sorted(self.strings)!r}")
        return f"Django({', '.join(parts)})"


class Jinja2(TemplateEngine):
    """Jinja2 templates (``pip install 'djng[jinja2]'``), from folders and/or ``strings``."""

    def __init__(
        self,
        dirs: Iterable[str | Path] = (),
        *,
        strings: Mapping[str, str] | None = None,
        context_processors: Sequence[str] = (),
        environment: str = "jinja2.Environment",
        **options: Any,
    ) -> None:
        if isinstance(dirs, (str, Path)):
            raise TypeError("djng.templates.Jinja2(dirs=...) takes a list of folders")
        try:
            import jinja2  # noqa: F401
        except ImportError:
            raise ImportError(
                "djng.templates.Jinja2 needs Jinja2: pip install 'djng[jinja2]'"
            ) from None
        self.dirs = [str(d) for d in dirs]
        self.strings = dict(strings or {})
        self.context_processors = list(context_processors)
        self.environment = environment
        self.options = options

    def _build(self) -> BaseEngine:
        import jinja2
        from django.template.backends.jinja2 import Jinja2 as DjangoJinja2

        loader = jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(self.dirs),
                jinja2.DictLoader(self.strings),
                jinja2.FileSystemLoader([str(_FORMS_DIR / "jinja2")]),
            ]
        )
        options = {
            "loader": loader,
            "context_processors": self.context_processors,
            "environment": self.environment,
            **self.options,
        }
        return DjangoJinja2(
            {"NAME": "jinja2", "DIRS": self.dirs, "APP_DIRS": False, "OPTIONS": options}
        )

    @property
    def env(self) -> Any:
        """The ``jinja2.Environment``."""
        return self.backend.env

    def __repr__(self) -> str:
        return f"Jinja2({self.dirs!r})"


class Backend(TemplateEngine):
    """Any Django template backend instance (``DjangoTemplates``, ``Jinja2``, ...)."""

    def __init__(self, backend: BaseEngine) -> None:
        self.__dict__["backend"] = backend

    @property
    def engine(self) -> Any:
        return getattr(self.backend, "engine", None)

    def __repr__(self) -> str:
        return f"Backend({self.backend!r})"


def _default() -> Django:
    """The ``templates/`` folder next to the app, then the installed apps' own
    ``templates/`` folders (as Django's ``APP_DIRS``), so that a package installed
    with ``djng.install()`` finds its templates and can be overridden from the app's."""
    folder = location.app_dir()
    folder = folder / "templates" if folder is not None else None
    return Django(dirs=[folder] if folder is not None and folder.is_dir() else [], app_dirs=True)


def _coerce(engine: Any) -> TemplateEngine:
    if isinstance(engine, TemplateEngine):
        return engine
    if isinstance(engine, BaseEngine):
        return Backend(engine)
    raise TypeError("Use djng.templates.Django(dirs=[...]) or Jinja2(dirs=[...])")


class TemplatesService(Service[TemplateEngine]):
    Django = Django
    Jinja2 = Jinja2
    Backend = Backend


templates = TemplatesService(
    "templates",
    expects="a template engine such as djng.templates.Django(dirs=[...])",
    coerce=_coerce,
    default=_default,
    django_settings={
        "TEMPLATES": [{"BACKEND": "djng.services.templates.ContextTemplates", "NAME": "djng"}],
        # Form rendering goes through the templates in effect, not a private engine.
        "FORM_RENDERER": "django.forms.renderers.TemplatesSetting",
    },
)


class _DjangoEngineInEffect(_django.ContextProxy):
    """``Engine.get_default()`` caches what it finds; this stays the engine in effect."""

    def _target(self) -> Any:
        engine = getattr(templates.current(), "engine", None)
        if engine is None:
            raise ImproperlyConfigured(
                f"Template(...) without an engine needs a Django template engine, but "
                f"djng.templates in effect is {templates.current()!r}. Push a "
                "djng.templates.Django(...) or render with the engine in effect."
            )
        return engine


class ContextTemplates(DjangoTemplates):
    """What Django's ``TEMPLATES`` names: forwards to ``djng.templates`` in effect.

    It subclasses ``DjangoTemplates`` only so that ``Engine.get_default()`` (used
    by ``Template(...)``) accepts it; nothing is built here.
    """

    def __init__(self, params: dict) -> None:
        self.name = params.get("NAME", "djng")
        self.dirs = []
        self.app_dirs = False
        self.engine = _DjangoEngineInEffect()

    def get_template(self, template_name: str) -> Any:
        return templates.current().get_template(template_name)

    def from_string(self, template_code: str) -> Any:
        return templates.current().from_string(template_code)

    @property
    def template_dirs(self) -> tuple:
        return tuple(getattr(templates.current().backend, "template_dirs", ()))
