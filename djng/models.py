"""Models in the app's own file: ``class Note(djng.Model)``, no app_label, no INSTALLED_APPS.

``djng.models`` is Django's ``django.db.models`` (every field, ``CASCADE``,
``Q``, ``F``, managers...) with :class:`Model` replaced by djng's, whose
metaclass makes the module that defines a model into a Django app on the fly:

- the app label is the module's name (``notes`` for ``notes.py``, also when it
  runs as ``__main__``; ``shop`` for ``shop/models.py``), so table names and
  migrations are the same however the file is started;
- the app is registered in Django's app registry, so relations, ``Meta``
  options, managers, the admin, contenttypes and migrations treat it as any app;
- its migrations live in ``migrations/<label>/`` next to the module, imported
  as ``djng_apps.<label>.migrations`` (a finder on ``sys.meta_path`` maps the
  name to the folder).

Importing this module populates Django's app registry, with the apps behind
djng's batteries (``djng.registry.install_batteries()``: models may relate to
``auth.User``): defining a model needs it, so ``import djng`` does not import this.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import threading
import types
from pathlib import Path
from typing import Any

from . import _django, location, registry

registry.install_batteries()

from django.apps import AppConfig, apps  # noqa: E402
from django.db import models as _models  # noqa: E402
from django.db.models import *  # noqa: E402, F403
from django.db.models import signals  # noqa: E402, F401
from django.db.models.base import ModelBase  # noqa: E402

from .services.db import create_tables  # noqa: E402

__all__ = [
    *_models.__all__,
    "app_configs",
    "create_tables",
    "migrations_dir",
    "signals",
]

#: The package name under which djng apps' migrations are imported.
PACKAGE = "djng_apps"

_lock = threading.RLock()


# -- apps, one per module that defines models -----------------------------------------


class DjngAppConfig(AppConfig):
    """The app of a module that defines djng models (registered on the fly)."""

    def __init__(self, label: str, module_name: str, module: Any, path: str) -> None:
        self.label = label
        self.path = path
        self.verbose_name = label.replace("_", " ").title()
        super().__init__(f"{PACKAGE}.{label}", module)
        #: The Python module whose models make up this app.
        self.module_name = module_name
        self.models_module = module

    def import_models(self) -> None:
        """Nothing to import: the models are the module's own, being defined."""
        self.models = self.apps.all_models[self.label]

    def __repr__(self) -> str:
        return f"<djng app {self.label!r} ({self.module_name})>"


def app_configs() -> list[DjngAppConfig]:
    """The apps djng registered for modules that define models."""
    return [c for c in apps.get_app_configs() if isinstance(c, DjngAppConfig)]


def label_for(module_name: str) -> str:
    """The app label of a module: its name without packages (``shop/models.py`` -> ``shop``).

    ``__main__`` gets the name of the script, so ``python notes.py`` and an import of
    ``notes`` (as under gunicorn) give the same tables and migrations.
    """
    if module_name == "__main__":
        filename = getattr(sys.modules.get("__main__"), "__file__", None)
        base = Path(filename).stem if filename else "main"
    else:
        parts = module_name.split(".")
        if len(parts) > 1 and parts[-1] == "models":
            parts.pop()
        base = parts[-1]
    label = re.sub(r"\W", "_", base)
    return label if label.isidentifier() else f"app_{label}"


def _module_folder(module: Any) -> str:
    filename = getattr(module, "__file__", None)
    if filename:
        return str(Path(filename).resolve().parent)
    folder = location.app_dir()
    # Django joins app paths with 'templates', 'static', 'management': a folder that
    # does not exist keeps it from looking in the working directory.
    return str(folder) if folder is not None else os.path.join(os.sep, "nonexistent-djng-app")


def register(label: str, module_name: str, *, explicit: bool = False) -> AppConfig:
    """The app ``label`` for the models of ``module_name``, registered if it is new."""
    with _lock:
        module = sys.modules.get(module_name) or _defining_module(module_name)
        config = apps.app_configs.get(label)
        if isinstance(config, DjngAppConfig):
            same = config.module_name == module_name or _same_file(config.module, module)
            if not (same or explicit):
                raise RuntimeError(
                    f"The models of {module_name} and of {config.module_name} would both "
                    f"form the app {label!r}. Rename one module, or give its models an "
                    "explicit app label: class Meta: app_label = '...'"
                )
            if config.module_name == module_name and module is not None:
                config.module = config.models_module = module  # the module was reloaded
            return config
        if config is not None:
            if explicit:
                return config  # a model put into an installed app on purpose
            raise RuntimeError(
                f"The models of {module_name} would form the app {label!r}, but {config.name} "
                "already uses that label. Rename the module, or give its models another "
                "app label: class Meta: app_label = '...'"
            )
        config = DjngAppConfig(label, module_name, module, _module_folder(module))
        _django.add_app_configs([config])
        _ensure_finder()
        return config


def _defining_module(module_name: str) -> Any:
    """A stand-in for a module that is being run without being in ``sys.modules``.

    (``importlib.util.module_from_spec`` + ``exec_module``, as test helpers do.)
    Its globals are found on the stack: the frame running its class statements.
    """
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") != module_name:
        frame = frame.f_back
    stand_in = types.ModuleType(module_name)
    if frame is not None and frame.f_globals.get("__file__"):
        stand_in.__file__ = frame.f_globals["__file__"]
    return stand_in


def _same_file(a: Any, b: Any) -> bool:
    fa, fb = getattr(a, "__file__", None), getattr(b, "__file__", None)
    return bool(fa and fb) and os.path.realpath(fa) == os.path.realpath(fb)


class _ModelBase(ModelBase):
    """Django's model metaclass, after making the defining module an app."""

    def __new__(mcs, name: str, bases: tuple, attrs: dict, **kwargs: Any) -> type:
        meta = attrs.get("Meta")
        module_name = attrs.get("__module__")
        if module_name is not None and not getattr(meta, "abstract", False):
            if meta is None:
                inherited = next(
                    (m for m in (getattr(b, "Meta", None) for b in bases) if m is not None), None
                )
                explicit = getattr(inherited, "app_label", None)
                meta = type("Meta", (inherited,) if inherited else (), {"__module__": module_name})
                attrs["Meta"] = meta
            else:
                explicit = getattr(meta, "app_label", None)
            label = explicit or label_for(module_name)
            register(label, module_name, explicit=explicit is not None)
            meta.app_label = label
        return super().__new__(mcs, name, bases, attrs, **kwargs)


class Model(_models.Model, metaclass=_ModelBase):
    """A Django model whose module becomes its app: ``class Note(djng.Model): ...``."""

    class Meta:
        abstract = True


# -- migrations: djng_apps.<label>.migrations is migrations/<label>/ next to the module ---


def migrations_dir(label: str) -> Path | None:
    """The folder of the migrations of the djng app ``label`` (it may not exist yet)."""
    config = apps.app_configs.get(label)
    if not isinstance(config, DjngAppConfig) or not getattr(config.module, "__file__", None):
        return None
    return Path(config.path) / "migrations" / label


class _NamespaceLoader(importlib.abc.Loader):
    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        pass


class _MigrationsFinder(importlib.abc.MetaPathFinder):
    """Imports ``djng_apps.<label>.migrations`` from ``migrations/<label>/`` next to the app."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        parts = fullname.split(".")
        if len(parts) == 1 or (len(parts) == 2 and parts[1] in apps.app_configs):
            spec = importlib.machinery.ModuleSpec(fullname, _NamespaceLoader(), is_package=True)
            spec.submodule_search_locations = []
            return spec
        if len(parts) == 3 and parts[2] == "migrations":
            folder = migrations_dir(parts[1])
            if folder is not None and (folder / "__init__.py").is_file():
                return importlib.util.spec_from_file_location(
                    fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
                )
        return None


_finder = _MigrationsFinder()


def _ensure_finder() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)
