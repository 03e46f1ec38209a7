"""djng.mail.SMTP delivering to a real SMTP server: aiosmtpd, in-process, on a free port."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
import subprocess
import threading

import pytest
from conftest import free_port
from django.core.mail import send_mail

import djng

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

USER, PASSWORD = "mailer", "hunter2-s3cret"


class Collector:
    """An aiosmtpd handler that keeps every envelope it is given."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, aiosmtpd_smtp.LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)  # handled=False: reply 535


@contextlib.contextmanager
def smtp_server(**smtp_options):
    """(collector, port) of a running aiosmtpd on 127.0.0.1, stopped on exit."""
    collector = Collector()
    controller = aiosmtpd_controller.Controller(
        collector, hostname="127.0.0.1", port=free_port(), ready_timeout=10, **smtp_options
    )
    controller.start()
    try:
        yield collector, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(cert.pem, key.pem): a self-signed certificate for localhost and 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30,
        )
    except FileNotFoundError:
        pytest.skip("the openssl command is not installed")
    return cert, key


@pytest.fixture
def tls_context(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


def _subject(envelope) -> str:
    import email

    return email.message_from_bytes(envelope.original_content)["Subject"]


def _send_in_request(backend, subject="Welcome"):
    """send_mail inside a request that pushes ``backend``; returns the client response."""

    def view(request):
        djng.mail.push(backend)
        to = ["ada@example.org", "bob@example.org"]
        sent = send_mail(subject, "Hello!", "hi@example.com", to)
        return {"sent": sent}

    return djng.testing.Client(view).get("/")


def test_send_mail_through_pushed_smtp_backend():
    with smtp_server() as (collector, port):
        response = _send_in_request(djng.mail.SMTP("127.0.0.1", port))
    assert response.json() == {"sent": 1}
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.mail_from == "hi@example.com"
    assert envelope.rcpt_tos == ["ada@example.org", "bob@example.org"]
    assert _subject(envelope) == "Welcome"


def test_smtp_url_backend_delivers():
    with smtp_server() as (collector, port):
        with djng.mail.use(f"smtp://127.0.0.1:{port}?timeout=5"):
            assert send_mail("From a URL", "body", "a@example.com", ["b@example.com"]) == 1
    assert [_subject(e) for e in collector.envelopes] == ["From a URL"]


def test_starttls_with_private_ca(certificate, tls_context):
    cert, _ = certificate
    with smtp_server(tls_context=tls_context, require_starttls=True) as (collector, port):
        # Without STARTTLS the server refuses the message.
        with pytest.raises(smtplib.SMTPException):
            djng.mail.SMTP("127.0.0.1", port, timeout=5).send_mail(
                "Plain", "body", "a@example.com", ["b@example.com"]
            )
        secure = djng.mail.SMTP("127.0.0.1", port, use_tls=True, ssl_cafile=str(cert), timeout=5)
        response = _send_in_request(secure, subject="Over TLS")
    assert response.json() == {"sent": 1}
    assert [_subject(e) for e in collector.envelopes] == ["Over TLS"]


def test_starttls_rejects_an_untrusted_certificate(tls_context):
    with smtp_server(tls_context=tls_context, require_starttls=True) as (collector, port):
        backend = djng.mail.SMTP("127.0.0.1", port, use_tls=True, timeout=5)  # no ssl_cafile
        with pytest.raises(ConnectionError) as info:
            backend.send_mail("Nope", "body", "a@example.com", ["b@example.com"])
    assert collector.envelopes == []
    assert "djng.mail" in str(info.value)
    assert "could not verify the TLS certificate" in str(info.value)
    assert "ssl_cafile" in str(info.value)  # says what to do
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


def test_authentication_over_starttls(certificate, tls_context):
    cert, _ = certificate
    options = {
        "tls_context": tls_context,
        "require_starttls": True,
        "authenticator": _authenticator,
        "auth_required": True,
    }
    with smtp_server(**options) as (collector, port):
        url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}?tls=1&timeout=5"
        backend = djng.mail.coerce(url)
        backend.ssl_cafile = str(cert)
        assert backend.send_mail("Logged in", "body", "a@example.com", ["b@example.com"]) == 1

        wrong = djng.mail.SMTP(
            "127.0.0.1", port, USER, "wrong", use_tls=True, ssl_cafile=str(cert), timeout=5
        )
        with pytest.raises(smtplib.SMTPAuthenticationError):
            wrong.send_mail("Refused", "body", "a@example.com", ["b@example.com"])
    assert [_subject(e) for e in collector.envelopes] == ["Logged in"]


def _bounded(func, limit: float = 15):
    """Run ``func`` in a thread; (exception or None) once it ends, failing if it hangs."""
    outcome: list = []

    def run():
        try:
            func()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=limit)
    assert not worker.is_alive(), f"still waiting after {limit} s"
    return outcome[0]


@contextlib.contextmanager
def _silent_server():
    """The port of a socket that accepts connections but never says a word."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing is ever said
        yield silent.getsockname()[1]


def _explained(error: BaseException) -> str:
    return "\n".join([str(error), *getattr(error, "__notes__", ())])


def test_server_that_never_speaks_times_out():
    with _silent_server() as port:
        backend = djng.mail.SMTP("127.0.0.1", port, timeout=0.5)
        error = _bounded(
            lambda: backend.send_mail("Never", "body", "a@example.com", ["b@example.com"])
        )
    assert isinstance(error, OSError), repr(error)
    assert "djng.mail" in _explained(error)
    assert f"127.0.0.1:{port}" in _explained(error)


def test_server_that_never_speaks_is_a_connection_error():
    with _silent_server() as port:
        backend = djng.mail.SMTP("127.0.0.1", port, timeout=0.5)
        error = _bounded(
            lambda: backend.send_mail("Never", "body", "a@example.com", ["b@example.com"])
        )
    assert isinstance(error, ConnectionError), repr(error)
    assert "djng.mail" in str(error)
    assert f"127.0.0.1:{port}" in str(error)


def test_down_smtp_server_is_a_clear_connection_error():
    port = free_port()  # closed
    error = _bounded(
        lambda: _send_in_request(djng.mail.SMTP("127.0.0.1", port, timeout=5))
    )
    assert isinstance(error, ConnectionError), repr(error)
    assert "djng.mail" in str(error)
    assert f"127.0.0.1:{port}" in str(error)


def _failing_app(request):
    raise RuntimeError("the view broke")


def test_error_mail_through_smtp_arrives():
    with smtp_server() as (collector, port):
        with djng.errors.use(djng.errors.Mail(to=["ops@example.com"])), djng.mail.use(
            djng.mail.SMTP("127.0.0.1", port, timeout=5)
        ):
            response = djng.testing.Client(_failing_app, raise_exceptions=False).get("/broken")
    assert response.status_code == 500
    assert len(collector.envelopes) == 1
    assert collector.envelopes[0].rcpt_tos == ["ops@example.com"]
    assert "/broken" in _subject(collector.envelopes[0])
    assert b"the view broke" in collector.envelopes[0].original_content


def test_error_mail_through_down_smtp_never_crashes_the_request(caplog):
    port = free_port()  # closed
    caplog.set_level(logging.ERROR, logger="djng.errors")
    with djng.errors.use(djng.errors.Mail(to=["ops@example.com"])), djng.mail.use(
        djng.mail.SMTP("127.0.0.1", port, timeout=5)
    ):
        response = djng.testing.Client(_failing_app, raise_exceptions=False).get("/broken")
    assert response.status_code == 500
    records = [r for r in caplog.records if r.name == "djng.errors"]
    assert records, "the reporting failure was not logged on 'djng.errors'"
    logged = "\n".join(
        r.getMessage() + "\n" + (logging.Formatter().formatException(r.exc_info)
                                  if r.exc_info else "")
        for r in records
    )
    assert "djng.mail" in logged  # the SMTP failure itself
    assert "the view broke" in logged  # and the exception it could not report
