"""``djng.mail``: e-mail backends on a context-local stack.

A djng mail backend is a plain object that opens Django e-mail connections.
``send_mail``, ``EmailMessage.send`` and ``mail_admins`` follow the backend in
effect, because Django's ``EMAIL_BACKEND`` names :class:`ContextEmailBackend`,
which Django instantiates on every send. The process default comes from
``DJNG_EMAIL_URL`` when it is set, else an in-memory outbox.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from django.utils.module_loading import import_string

from . import _url
from .stack import Service

if TYPE_CHECKING:
    from django.core.mail.backends.base import BaseEmailBackend

__all__ = [
    "SCHEMES", "SMTP", "Backend", "Console", "File", "MailBackend", "Memory", "from_url", "mail",
]

#: The URL schemes :func:`from_url` reads.
SCHEMES = ("smtp", "smtps", "console", "file", "memory")


class MailBackend:
    """Base class: ``connection()`` opens a Django e-mail backend for one send."""

    def connection(self, fail_silently: bool = False, **kwargs: Any) -> BaseEmailBackend:
        raise NotImplementedError

    def send_mail(
        self,
        subject: str,
        message: str,
        from_email: str | None,
        recipient_list: Sequence[str],
        **kwargs: Any,
    ) -> int:
        """Django's ``send_mail`` through this backend."""
        from django.core.mail import send_mail

        return send_mail(
            subject, message, from_email, recipient_list, connection=self.connection(), **kwargs
        )


class Memory(MailBackend):
    """Keeps sent messages in ``.outbox`` (the default; handy in tests)."""

    def __init__(self) -> None:
        self.outbox: list = []
        self._lock = threading.Lock()

    def connection(self, fail_silently: bool = False, **kwargs: Any) -> BaseEmailBackend:
        from .mail_connections import MemoryConnection

        return MemoryConnection(self, fail_silently=fail_silently, **kwargs)

    def deliver(self, messages: Sequence) -> None:
        """Add ``messages`` to the outbox (the connections this backend opens call it)."""
        with self._lock:
            self.outbox.extend(messages)

    def clear(self) -> None:
        with self._lock:
            self.outbox.clear()

    def __repr__(self) -> str:
        return f"Memory(outbox={len(self.outbox)} messages)"


class Backend(MailBackend):
    """Any Django e-mail backend class (or its dotted path), with its options."""

    def __init__(self, backend: type[BaseEmailBackend] | str, **options: Any) -> None:
        from django.core.mail.backends import base

        self.backend_class = import_string(backend) if isinstance(backend, str) else backend
        cls = self.backend_class
        if not (isinstance(cls, type) and issubclass(cls, base.BaseEmailBackend)):
            raise TypeError(f"{backend!r} is not a Django e-mail backend class")
        self.options = options

    def connection(self, fail_silently: bool = False, **kwargs: Any) -> BaseEmailBackend:
        return self.backend_class(fail_silently=fail_silently, **{**self.options, **kwargs})

    def __repr__(self) -> str:
        return f"Backend({self.backend_class.__qualname__})"


class Console(Backend):
    """Writes each message to a stream (standard output by default)."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__("django.core.mail.backends.console.EmailBackend", stream=stream)


class File(Backend):
    """Writes each connection's messages to a new file in ``directory``."""

    def __init__(self, directory: str) -> None:
        from .mail_connections import FileConnection

        super().__init__(FileConnection, file_path=str(directory))
        self.directory = str(directory)


class SMTP(MailBackend):
    """Sends through an SMTP server; nothing is contacted until a message is sent."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 25,
        username: str | None = None,
        password: str | None = None,
        *,
        use_tls: bool = False,
        use_ssl: bool = False,
        timeout: float | None = 10,
        ssl_keyfile: str | None = None,
        ssl_certfile: str | None = None,
        ssl_cafile: str | None = None,
    ) -> None:
        if use_tls and use_ssl:
            raise ValueError(
                "djng.mail.SMTP: use_tls (STARTTLS, usually port 587) and use_ssl (implicit "
                "TLS, usually port 465) are mutually exclusive; pick one"
            )
        if not isinstance(port, int):
            raise TypeError(f"djng.mail.SMTP: port must be an int, got {port!r}")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.use_ssl = use_ssl
        self.timeout = timeout
        self.ssl_keyfile = ssl_keyfile
        self.ssl_certfile = ssl_certfile
        self.ssl_cafile = ssl_cafile

    def connection(self, fail_silently: bool = False, **kwargs: Any) -> BaseEmailBackend:
        options = {
            "host": self.host,
            "port": self.port,
            "username": self.username or "",
            "password": self.password or "",
            "use_tls": self.use_tls,
            "use_ssl": self.use_ssl,
            "timeout": self.timeout,
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_cafile": self.ssl_cafile,
        }
        from .mail_connections import SMTPConnection

        return SMTPConnection(fail_silently=fail_silently, **{**options, **kwargs})

    def __repr__(self) -> str:
        return f"SMTP({self.host!r}, {self.port})"


def from_url(url: str) -> MailBackend:
    """A mail backend from ``smtp://user:pass@host:587?tls=1&timeout=10``.

    ``smtps://`` is implicit TLS (port 465 by default); ``tls=1`` is STARTTLS.
    Also ``console://``, ``file:///path/to/dir`` and ``memory://``.
    """
    parts, query = _url.split(url, "e-mail", SCHEMES)
    scheme = parts.scheme.lower()
    if scheme in ("smtp", "smtps"):
        use_ssl = scheme == "smtps" or _url.flag(query, "ssl", url, "e-mail")
        use_tls = _url.flag(query, "tls", url, "e-mail")
        timeout = _url.number(query, "timeout", url, "e-mail")
        _url.no_more(query, url, "e-mail", "tls, ssl, timeout")
        if not parts.hostname:
            raise ValueError(f"The e-mail URL {_url.redact(url)!r} names no SMTP host")
        if use_tls and use_ssl:
            raise ValueError(
                f"The e-mail URL {_url.redact(url)!r} asks for both STARTTLS (tls=1) and "
                "implicit TLS (smtps:// or ssl=1); pick one"
            )
        return SMTP(
            unquote(parts.hostname),
            parts.port or (465 if use_ssl else 25),
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            use_ssl=use_ssl,
            timeout=10 if timeout is None else timeout,
        )
    _url.no_more(query, url, "e-mail", "none")
    if scheme == "console":
        return Console()
    if scheme == "file":
        if not parts.path:
            raise ValueError(
                f"The e-mail URL {_url.redact(url)!r} names no folder: use file:///path/to/dir"
            )
        return File(unquote(parts.path))
    return Memory()


def check() -> None:
    """Health: open and close a connection with the mail backend in effect (SMTP: connect,
    log in)."""
    connection = mail.current().connection()
    connection.open()
    connection.close()


def _coerce(backend: Any) -> MailBackend:
    if isinstance(backend, MailBackend):
        return backend
    if isinstance(backend, type):
        return Backend(backend)  # checks that it is a Django e-mail backend class
    raise TypeError(
        "Use djng.mail.Memory(), Console(), File(dir), SMTP(host, port), Backend(cls) "
        "or an e-mail URL"
    )


class MailService(Service[MailBackend]):
    Memory = Memory
    Console = Console
    File = File
    SMTP = SMTP
    Backend = Backend


mail = MailService(
    "mail",
    expects="a mail backend such as djng.mail.Memory() or djng.mail.SMTP(host, port)",
    coerce=_coerce,
    default=Memory,
    from_text=from_url,
    environ=("DJNG_EMAIL_URL",),
    django_settings={"EMAIL_BACKEND": "djng.services.mail.ContextEmailBackend"},
    health_check=check,
)


class ContextEmailBackend:
    """What Django's ``EMAIL_BACKEND`` names: opens a connection of ``djng.mail`` in effect."""

    def __new__(cls, fail_silently: bool = False, **kwargs: Any) -> BaseEmailBackend:  # type: ignore[misc]
        return mail.current().connection(fail_silently=fail_silently, **kwargs)
