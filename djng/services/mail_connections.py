"""The Django e-mail backends djng's mail backends open (imported on first send)."""

from __future__ import annotations

import datetime
import os
import smtplib
import ssl
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.filebased import EmailBackend as DjangoFileBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.utils.functional import cached_property


class MemoryConnection(BaseEmailBackend):
    """Appends sent messages to a ``djng.mail.Memory`` outbox."""

    def __init__(self, target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def send_messages(self, messages: Sequence) -> int:
        messages = list(messages)
        for message in messages:
            message.message()  # as Django's locmem backend: fail on bad headers now
        with self.target._lock:
            self.target.outbox.extend(messages)
        return len(messages)


class FileConnection(DjangoFileBackend):
    """Django's file backend, with a file name that is unique per connection.

    Django names the file by the second and ``id(self)``, which two connections
    opened in quick succession can share.
    """

    def _get_filename(self) -> str:
        if self._fname is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self._fname = os.path.join(self.file_path, f"{stamp}-{uuid.uuid4().hex}.log")
        return self._fname


class SMTPConnection(DjangoSMTPBackend):
    """Django's SMTP backend; a server it cannot reach gives an error naming djng.mail.

    ``ssl_cafile`` trusts a private certificate authority (an internal relay).
    """

    def __init__(self, *args: Any, ssl_cafile: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ssl_cafile = ssl_cafile

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context

    def open(self) -> bool | None:
        where = f"the SMTP server {self.host}:{self.port}"
        try:
            return super().open()
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            # smtplib's words for a server that hung up or never greeted us.
            raise ConnectionError(f"djng.mail could not talk to {where}: {exc}") from exc
        except smtplib.SMTPException as exc:
            exc.add_note(f"djng.mail: while talking to {where}")
            raise
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionError(
                f"djng.mail could not verify the TLS certificate of {where}: "
                f"{exc.verify_message or exc}; for a private certificate authority pass "
                "djng.mail.SMTP(..., ssl_cafile='ca.pem')"
            ) from exc
        except OSError as exc:
            raise ConnectionError(
                f"djng.mail could not reach {where}: {exc.strerror or exc}"
            ) from exc
