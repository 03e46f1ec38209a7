"""The Django e-mail backends djng's mail backends open (imported on first send,
so that smtplib and ssl cost nothing to an app that sends no mail)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.utils.functional import cached_property

from .. import _django


class MemoryConnection(BaseEmailBackend):
    """Appends sent messages to a ``djng.mail.Memory`` outbox."""

    def __init__(self, target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target

    def send_messages(self, messages: Sequence) -> int:
        messages = list(messages)
        for message in messages:
            message.message()  # as Django's locmem backend: fail on bad headers now
        self.target.deliver(messages)
        return len(messages)


#: Django's file backend, with a file name that is unique per connection.
FileConnection = _django.file_mail_backend()


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
