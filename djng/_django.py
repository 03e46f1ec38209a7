"""Every reach into Django's private API, in one place.

djng runs Django without a settings module, so a few things that Django only
does at start-up, or keeps in private attributes, have to be done from outside.
Each function here is one such reach, with why djng needs it. All were checked
on Django 5.2.19 (the supported range is ``>=5.2,<6``); when Django moves,
this file is the one to read, and ``tests/`` exercises every function in it.
``ruff`` (SLF001) refuses private access anywhere else in the package.
"""

from __future__ import annotations

import datetime
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from io import BytesIO
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase
from django.utils.functional import LazyObject

# -- settings ----------------------------------------------------------------------------


def setting(name: str) -> Any:
    """``settings.<name>``, read without ``LazyObject.__getattribute__`` (0.36 µs a read).

    ``LazySettings`` keeps each value it has handed out in its ``__dict__`` (the
    same dict object for the life of the process: it is cleared, not replaced,
    when the settings are) and drops it there when the setting is changed, so
    that dict is the fast path.
    """
    try:
        return _SETTINGS_CACHE[name]
    except KeyError:
        return getattr(settings, name)


_SETTINGS_CACHE: dict[str, Any] = object.__getattribute__(settings, "__dict__")


# Which settings have been read, and which are scoped to part of an app. The one
# ``settings`` object is given a subclass of ``LazySettings`` (set on the instance
# itself: a plain ``settings.__class__ = ...`` would be forwarded to the wrapped
# holder), with ``__module__`` kept as Django's, which translation needs to find
# Django's locale folder.
_read_settings: set[str] = set()
_scoped_names: frozenset[str] = frozenset()
_overlay: Callable[[str], Any] | None = None
MISSING: Any = object()
_scope_lock = threading.Lock()


class _TrackedSettings(type(settings)):
    """``LazySettings`` that remembers every name it is asked for and does not have."""

    __module__ = "django.conf"

    def __getattr__(self, name: str) -> Any:
        _read_settings.add(name)
        value = super().__getattr__(name)
        if name in _scoped_names:  # never cached: a scope may change it per request
            self.__dict__.pop(name, None)
        return value


class _ScopedSettings(_TrackedSettings):
    """Also answers the names scoped to part of an app from the overlay in effect."""

    __module__ = "django.conf"

    def __getattribute__(self, name: str) -> Any:
        if name in _scoped_names:
            value = _overlay(name)
            if value is not MISSING:
                return value
        return super().__getattribute__(name)


def track_setting_reads() -> None:
    """Remember which settings are read from now on (for ``djng.settings()``'s warning).

    ``LazySettings.__getattr__`` runs only when a name is not cached yet (its
    first read) or not set at all (a package's ``getattr(settings, X, default)``),
    so the cost is one set insertion on those reads.
    """
    if not issubclass(type(settings), _TrackedSettings):
        object.__dict__["__class__"].__set__(settings, _TrackedSettings)


def setting_was_read(name: str) -> bool:
    """True if ``settings.<name>`` has been read since djng was imported."""
    return name in _read_settings or name in _SETTINGS_CACHE


def scope_settings(names: Iterable[str], overlay: Callable[[str], Any]) -> None:
    """Let ``overlay(name)`` answer these settings' reads (:data:`MISSING`: not in scope).

    Every settings read then goes through one more Python-level check, so this
    is done only when an app first scopes a setting; their cached values are
    dropped, and never cached again.
    """
    global _scoped_names, _overlay
    names = set(names)
    if names <= _scoped_names and _overlay is overlay:
        return  # the common case, on every push of a known scope: nothing to do
    with _scope_lock:
        _overlay = overlay
        _scoped_names = _scoped_names | names
        for name in _scoped_names:
            _SETTINGS_CACHE.pop(name, None)
        if not issubclass(type(settings), _ScopedSettings):
            object.__dict__["__class__"].__set__(settings, _ScopedSettings)


# -- requests and responses ---------------------------------------------------------------


def init_plain_request(request: Any, environ: dict) -> bool:
    """What ``WSGIRequest.__init__`` does, for the common request, in a fraction of the time.

    A request with no body (no ``CONTENT_LENGTH``/``CONTENT_TYPE``), no script
    name (nor ``SCRIPT_URL``, ``REDIRECT_URL``, ``FORCE_SCRIPT_NAME``) and an
    ASCII path gets the attributes Django's constructor would give it, including
    the private ``_stream`` (an empty stream to read) and ``_read_started``,
    without decoding its path twice or parsing an absent content type. Returns
    False, having set nothing, for any other request: Django's constructor then
    does it all. ``tests/test_django_suite.py`` runs Django's own request tests
    with djng's request class.
    """
    get = environ.get
    if (
        get("CONTENT_LENGTH") or get("CONTENT_TYPE") or get("SCRIPT_NAME")
        or get("SCRIPT_URL") or get("REDIRECT_URL")
        or setting("FORCE_SCRIPT_NAME") is not None
    ):
        return False
    path_info = get("PATH_INFO") or "/"
    if not path_info.isascii():
        return False
    request.environ = request.META = environ
    request.path_info = environ["PATH_INFO"] = path_info
    environ["SCRIPT_NAME"] = ""
    request.path = "/" + path_info.replace("/", "", 1)
    request.method = environ["REQUEST_METHOD"].upper()
    request.content_type, request.content_params = "", {}
    request._stream = BytesIO()
    request._read_started = False
    request.resolver_match = None
    return True


def add_closer(response: Any, close: Callable[[], Any]) -> None:
    """Run ``close`` when the server closes ``response``.

    Django has no public hook for it; its handler appends ``request.close`` to
    ``_resource_closers`` the same way, and ``HttpResponseBase.close()`` runs them.
    """
    response._resource_closers.append(close)


def stream_source(response: Any) -> Any:
    """The iterator a streaming response reads (what the view gave it, or what a
    middleware put in its place), behind ``streaming_content``'s wrapper.

    Django keeps it in ``_iterator``; closing ``streaming_content`` does not close
    it, and Django closes only sync ones (``close()`` in ``_resource_closers``).
    """
    return getattr(response, "_iterator", None)


def close_response(response: Any, send_finished: Callable[[Any], Any]) -> None:
    """What ``HttpResponseBase.close()`` does, with ``request_finished`` sent by ``send_finished``.

    Django's ``close()`` runs the response's ``_resource_closers`` and then always
    sends ``request_finished``; djng sends it only when a receiver has work
    (``djng.housekeeping``). A response class with its own ``close()`` is closed
    by it, as it expects.
    """
    if type(response).close is not HttpResponseBase.close:
        response.close()
        return
    for closer in response._resource_closers:
        try:
            closer()
        except Exception:  # as Django does: a failing closer does not stop the others
            pass
    response._resource_closers.clear()
    response.closed = True
    send_finished(response._handler_class)


def header_store(response: Any) -> dict[str, tuple[str, str]]:
    """The response's headers as Django keeps them: ``{lower-case name: (name, value)}``.

    ``response.items()`` walks the private ``_store`` of ``ResponseHeaders`` through
    the ``Mapping`` machinery, looking each name up again (about 1.3 µs for a
    hello response); the WSGI adapter reads the pairs straight from it.
    """
    return response.headers._store


def unread_body(request: Any) -> Any:
    """A readable stream of ``request``'s body for a mounted WSGI app.

    The original stream if nobody has read it yet (``_stream``), else the body
    Django has kept in memory. Raises ``RawPostDataException`` when a multipart
    body was parsed and not kept.
    """
    return BytesIO(request.body) if request._read_started else request._stream


def replace_body(request: Any, stream: Any, length: int) -> None:
    """Make ``request`` read its body from ``stream`` (``length`` bytes).

    ``WSGIRequest`` reads the body through its private ``_stream``, a
    ``LimitedStream`` made from ``CONTENT_LENGTH`` when the request is built.
    """
    from django.core.handlers.wsgi import LimitedStream

    request._stream = LimitedStream(stream, length)


def skip_csrf_checks(request: Any) -> None:
    """No CSRF check for ``request``, whichever CSRF middleware runs (``csrf_exempt`` on a
    subtree: the check runs later, around the endpoint an inner Router picks).

    ``CsrfViewMiddleware.process_view`` reads the private ``_dont_enforce_csrf_checks``,
    as Django's own test client sets it.
    """
    request._dont_enforce_csrf_checks = True


def has_messages(request: Any) -> bool:
    """True once a ``MessageMiddleware`` has given ``request`` its message storage
    (kept in the private ``request._messages``)."""
    return "_messages" in request.__dict__


# -- the app registry -----------------------------------------------------------------------


def add_app_configs(configs: Iterable[Any]) -> None:
    """Add app configs to a registry that is already populated.

    ``apps.populate()`` runs once; an app that appears later (a module defining
    ``djng.Model`` classes, a battery used after the first request) is added the
    way ``populate()`` does it: the configs, then their models, then ``ready()``.
    """
    from django.apps import apps

    configs = list(configs)
    for config in configs:
        config.apps = apps
        config.models = apps.all_models[config.label]  # as AppConfig.import_models() sets it
    apps.app_configs = {**apps.app_configs, **{config.label: config for config in configs}}
    for config in configs:
        config.import_models()
    forget_app_caches()
    for config in configs:
        config.ready()


def check_app(name: str, apps: Any) -> None:
    """Raise what ``apps.populate()`` would for ``name``: not importable, or a label in use."""
    from django.apps import AppConfig
    from django.core.exceptions import ImproperlyConfigured

    config = AppConfig.create(name)
    if config.label in apps.app_configs:
        raise ImproperlyConfigured(
            f"its label {config.label!r} is taken by {apps.app_configs[config.label].name}; "
            "give it another label in an AppConfig subclass and install that"
        )


def install_apps(names: Iterable[str]) -> None:
    """Install Django apps by name into a registry that is already populated."""
    from django.apps import AppConfig

    names = list(names)
    # Listed first: models may ask whether their app is installed as they are
    # defined (DRF's Token is abstract unless rest_framework.authtoken is).
    before = settings.INSTALLED_APPS
    settings.INSTALLED_APPS = [*before, *names]
    try:
        add_app_configs(AppConfig.create(name) for name in names)
    except BaseException:
        settings.INSTALLED_APPS = before  # not installed: a corrected retry must not be a no-op
        raise


def forget_app_caches() -> None:
    """Forget what Django cached about the installed apps.

    The registry's own lookups, the template folders of installed apps
    (``get_app_template_dirs`` is ``lru_cache``d) and the list of management
    commands (``get_commands`` is ``functools.cache``d).
    """
    import sys

    from django.apps import apps
    from django.template.utils import get_app_template_dirs

    apps.clear_cache()
    get_app_template_dirs.cache_clear()
    management = sys.modules.get("django.core.management")
    if management is not None:
        management.get_commands.cache_clear()


# -- database connections -------------------------------------------------------------------


def add_database(alias: str, config: dict[str, Any]) -> None:
    """Register a connection alias after start-up, without mutating a dict others iterate.

    ``connections.settings`` is a ``cached_property`` holding the DATABASES dict;
    it is replaced by a new dict (and so is ``settings.DATABASES``, which Django
    reads in ``migrate``'s ``--database`` choices). The caller holds a lock.
    """
    from django.db import DEFAULT_DB_ALIAS, connections

    full = connections.configure_settings({DEFAULT_DB_ALIAS: dict(config)})[DEFAULT_DB_ALIAS]
    databases = {**connections.settings, alias: full}
    connections.settings = databases
    settings.DATABASES = databases


def mirror_database(source: str, target: str) -> None:
    """Make the alias ``target`` reach the same database as ``source``.

    Django's connection objects hold a reference to their alias's settings dict,
    so it is updated in place; this thread's open connection for ``target`` is
    closed first so that its next use reaches the new database. The caller holds
    a lock.
    """
    from django.db import connections

    config = connections.settings[target]
    if config == connections.settings[source]:
        return
    forget_connection(target)
    config.clear()
    config.update(connections.settings[source])


def forget_connection(alias: str) -> None:
    """Close this thread's connection for ``alias`` and drop it, so the next use reconnects.

    ``connections[alias]`` would create a connection object just to close it;
    whether this thread has one is only visible in the private ``_connections``.
    """
    from django.db import connections

    if hasattr(connections._connections, alias):
        connections[alias].close()
        del connections[alias]


# -- signals -----------------------------------------------------------------------------------


def swap_receiver(signal: Any, receiver: Callable, replacement: Callable) -> bool:
    """Put ``replacement`` where Django connected ``receiver``; False if it was not connected.

    Django connects its per-request housekeeping (``reset_queries``,
    ``close_old_connections``, ``close_caches``, ``reset_urlconf``) at import time
    and offers no setting to change them.
    """
    if signal.disconnect(receiver):
        signal.connect(replacement, weak=False)
        return True
    return False


def receiver_functions(signal: Any) -> set[Any]:
    """What is connected to ``signal``: functions connected with ``weak=False``, weak
    references for the others (``Signal.receivers`` holds ``(key, receiver, is_async)``)."""
    return {receiver for _, receiver, *_ in signal.receivers}


# -- the urlconf and script prefix of the request ----------------------------------------


class _ContextValue:
    """One ``value`` attribute kept in a ``ContextVar``: what asgiref's ``Local`` gives
    Django's urlconf and script prefix, without its lock and copies."""

    __slots__ = ("_var",)
    _MISSING: Any = object()

    def __init__(self, name: str) -> None:
        from .state import request_variable

        object.__setattr__(self, "_var", request_variable(ContextVar(name), self._MISSING))

    def __getattr__(self, key: str) -> Any:
        if key == "value":
            value = self._var.get(self._MISSING)
            if value is not self._MISSING:
                return value
        raise AttributeError(key)

    def __setattr__(self, key: str, value: Any) -> None:
        if key != "value":
            raise AttributeError(key)
        self._var.set(value)

    def __delattr__(self, key: str) -> None:
        if key != "value" or self._var.get(self._MISSING) is self._MISSING:
            raise AttributeError(key)
        self._var.set(self._MISSING)


def context_local_urlconf() -> None:
    """Keep Django's urlconf and script prefix in plain ``ContextVar``s.

    ``set_urlconf()``/``get_urlconf()`` (and the script prefix's) store their value
    in the private ``django.urls.base._urlconfs`` (``_prefixes``), asgiref
    ``Local`` objects whose every access goes through a context manager and a
    copy (about 1.2 µs to set, 1.7 µs to read). djng sets the urlconf on every
    request; a ``ContextVar`` has the same context semantics (a request's copy,
    carried by ``sync_to_async``) at a tenth of the cost. Idempotent.
    """
    from django.urls import base

    for name in ("_urlconfs", "_prefixes"):
        current = getattr(base, name)
        if isinstance(current, _ContextValue):
            continue
        replacement = _ContextValue(f"django.urls.base.{name}")
        try:
            replacement.value = current.value
        except AttributeError:
            pass
        setattr(base, name, replacement)


# -- backends djng subclasses ----------------------------------------------------------------


class ContextProxy(LazyObject):
    """Forwards everything to ``self._target()``, read afresh on each access.

    Django builds its backends once and caches them (``caches``, ``storages``,
    ``Engine.get_default``); djng gives it these proxies instead. ``LazyObject``
    forwards attributes, operators and ``__class__`` (so ``isinstance(proxy,
    Storage)`` holds) to its private ``_wrapped``, which here is a property.
    """

    def _target(self) -> Any:
        raise NotImplementedError

    @property
    def _wrapped(self) -> Any:
        return self._target()

    @_wrapped.setter
    def _wrapped(self, value: Any) -> None:
        pass  # LazyObject.__init__ resets it; the target is never stored

    def _setup(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} -> {self._target()!r}>"


def file_cache_without_folder(cache: Any, folder: str, params: dict[str, Any]) -> None:
    """Initialise a ``FileBasedCache`` without creating its folder yet.

    Django's ``__init__`` creates the folder at once; its ``set()`` and
    ``add()`` create it when needed, so djng sets the private ``_dir`` itself.
    """
    from django.core.cache.backends.base import BaseCache

    BaseCache.__init__(cache, params)
    cache._dir = os.path.abspath(folder)


def file_mail_backend() -> type:
    """Django's file e-mail backend, with a file name unique per connection.

    Django names the file by the second and ``id(self)``, which two connections
    opened in quick succession can share; the name is made in the private
    ``_get_filename``.
    """
    from django.core.mail.backends.filebased import EmailBackend

    class FileConnection(EmailBackend):
        def _get_filename(self) -> str:
            if self._fname is None:
                stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
                self._fname = os.path.join(self.file_path, f"{stamp}-{uuid.uuid4().hex}.log")
            return self._fname

    FileConnection.__qualname__ = "FileConnection"
    return FileConnection


# -- management commands -------------------------------------------------------------------------


def command_options(command: Any, prog: str, name: str) -> set[str]:
    """The option names (``dest``) a management command's parser accepts.

    argparse lists them only in the parser's private ``_actions``.
    """
    return {action.dest for action in command.create_parser(prog, name)._actions}
