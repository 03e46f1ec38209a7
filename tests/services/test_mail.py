"""djng.mail: backends as plain objects, and Django's mail functions following the stack."""

from __future__ import annotations

import email
import io
import socket
import socketserver
import threading

import pytest
from django.conf import settings
from django.core.mail import EmailMessage, mail_admins, send_mail
from django.core.mail.backends.locmem import EmailBackend as LocMemEmailBackend

import djng
from djng.services.stack import _UNSET
from djng.testing import Client

# -- a tiny SMTP server -------------------------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        envelope: dict = {"rcpt": []}
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                envelope = {"from": command.split(":", 1)[1].strip(), "rcpt": []}
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                envelope["data"] = b"".join(lines)
                self.server.received.append(envelope)
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            else:
                self.reply("502 Command not implemented")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.received: list[dict] = []


@pytest.fixture
def smtp_server():
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- backends without any stack -----------------------------------------------------------


def test_memory_keeps_messages_in_its_own_outbox():
    a, b = djng.mail.Memory(), djng.mail.Memory()
    assert a.send_mail("Hi", "Body", "from@example.com", ["to@example.com"]) == 1
    assert [m.subject for m in a.outbox] == ["Hi"]
    assert b.outbox == []
    a.clear()
    assert a.outbox == []


def test_memory_rejects_bad_headers_when_sending():
    backend = djng.mail.Memory()
    with pytest.raises(ValueError):
        backend.send_mail("Bad\nsubject", "Body", "from@example.com", ["to@example.com"])
    assert backend.outbox == []


def test_console_writes_to_its_stream():
    stream = io.StringIO()
    backend = djng.mail.Console(stream=stream)
    backend.send_mail("Console subject", "Console body", "from@example.com", ["to@example.com"])
    assert "Subject: Console subject" in stream.getvalue()
    assert "Console body" in stream.getvalue()


def test_file_writes_a_file_per_connection(tmp_path):
    folder = tmp_path / "mails"
    backend = djng.mail.File(folder)
    backend.send_mail("File subject", "File body", "from@example.com", ["to@example.com"])
    backend.send_mail("Second", "Second body", "from@example.com", ["to@example.com"])
    files = sorted(folder.iterdir())
    assert len(files) == 2
    contents = "".join(path.read_text() for path in files)
    assert "Subject: File subject" in contents and "Second body" in contents


def test_backend_wraps_any_django_email_backend_class():
    from django.core import mail as django_mail

    backend = djng.mail.Backend("django.core.mail.backends.locmem.EmailBackend")
    assert backend.backend_class is LocMemEmailBackend
    had_outbox = hasattr(django_mail, "outbox")
    old_outbox = getattr(django_mail, "outbox", None)
    try:
        django_mail.outbox = []
        backend.send_mail("Wrapped", "Body", "from@example.com", ["to@example.com"])
        assert [m.subject for m in django_mail.outbox] == ["Wrapped"]
    finally:
        if had_outbox:
            django_mail.outbox = old_outbox
        else:
            del django_mail.outbox
    with pytest.raises(TypeError, match="not a Django e-mail backend"):
        djng.mail.Backend(dict)


def test_smtp_sends_through_a_real_server(smtp_server):
    host, port = smtp_server.server_address
    backend = djng.mail.SMTP(host, port, timeout=5)
    sent = backend.send_mail("SMTP subject", "SMTP body", "from@example.com", ["to@example.com"])
    assert sent == 1
    [envelope] = smtp_server.received
    assert envelope["from"] == "<from@example.com>"
    assert envelope["rcpt"] == ["<to@example.com>"]
    message = email.message_from_bytes(envelope["data"])
    assert message["Subject"] == "SMTP subject"
    assert message.get_payload().strip() == "SMTP body"


def test_smtp_contacts_nothing_until_a_message_is_sent():
    port = closed_port()
    backend = djng.mail.SMTP("127.0.0.1", port, timeout=5)  # no error: nothing contacted
    djng.mail.configure(backend)
    with pytest.raises(ConnectionError) as info:
        send_mail("s", "m", "from@example.com", ["to@example.com"])
    assert "djng.mail" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_smtp_unreachable_with_fail_silently_sends_nothing_quietly():
    backend = djng.mail.SMTP("127.0.0.1", closed_port(), timeout=5)
    with djng.mail.use(backend):
        assert send_mail("s", "m", "f@example.com", ["t@example.com"], fail_silently=True) == 0


def test_smtp_options_are_checked_at_construction():
    with pytest.raises(ValueError, match="use_tls.*use_ssl.*mutually exclusive"):
        djng.mail.SMTP("localhost", 587, use_tls=True, use_ssl=True)
    with pytest.raises(TypeError, match="port must be an int"):
        djng.mail.SMTP("localhost", "25")


def test_smtp_passes_its_options_to_the_connection():
    backend = djng.mail.SMTP("mail.example.com", 2525, "user", "pw", use_tls=True, timeout=3)
    connection = backend.connection()
    assert (connection.host, connection.port) == ("mail.example.com", 2525)
    assert (connection.username, connection.password) == ("user", "pw")
    assert connection.use_tls and not connection.use_ssl
    assert connection.timeout == 3
    assert connection.connection is None  # not opened


# -- the service --------------------------------------------------------------------------


def test_the_embedded_default_is_a_memory_outbox_built_on_first_use():
    djng.mail.reset()
    assert djng.mail._default is _UNSET
    send_mail("Default", "Body", "from@example.com", ["to@example.com"])
    assert isinstance(djng.mail._default, djng.mail.Memory)
    assert [m.subject for m in djng.mail.outbox] == ["Default"]


def test_attribute_access_forwards_to_the_backend_in_effect():
    default, other = djng.mail.Memory(), djng.mail.Memory()
    djng.mail.configure(default)
    with djng.mail.use(other):
        djng.mail.send_mail("Other", "Body", "from@example.com", ["to@example.com"])
        assert djng.mail.outbox is other.outbox
    assert djng.mail.outbox is default.outbox
    assert default.outbox == [] and [m.subject for m in other.outbox] == ["Other"]


def test_a_django_email_backend_class_is_accepted_and_anything_else_is_not():
    djng.mail.configure(LocMemEmailBackend)
    assert isinstance(djng.mail.current(), djng.mail.Backend)
    assert djng.mail.current().backend_class is LocMemEmailBackend
    with pytest.raises(TypeError, match=r"djng\.mail expects a mail backend"):
        djng.mail.configure(LocMemEmailBackend())
    with pytest.raises(TypeError, match=r"djng\.mail expects a mail backend"):
        djng.mail.use(42)


# -- Django follows the stack ---------------------------------------------------------------


def test_send_mail_and_email_message_follow_the_stack():
    default, other = djng.mail.Memory(), djng.mail.Memory()
    djng.mail.configure(default)
    send_mail("one", "Body", "from@example.com", ["to@example.com"])
    with djng.mail.use(other):
        send_mail("two", "Body", "from@example.com", ["to@example.com"])
        EmailMessage("three", "Body", "from@example.com", ["to@example.com"]).send()
    EmailMessage("four", "Body", "from@example.com", ["to@example.com"]).send()
    assert [m.subject for m in default.outbox] == ["one", "four"]
    assert [m.subject for m in other.outbox] == ["two", "three"]


def test_mail_admins_follows_the_stack(monkeypatch):
    monkeypatch.setattr(settings, "ADMINS", [("Admin", "admin@example.com")])
    backend = djng.mail.Memory()
    with djng.mail.use(backend):
        mail_admins("Trouble", "Details")
    [message] = backend.outbox
    assert "Trouble" in message.subject
    assert message.to == ["admin@example.com"]


def test_mail_follows_configure_from_another_thread():
    first, second = djng.mail.Memory(), djng.mail.Memory()
    djng.mail.configure(first)

    def worker():
        djng.mail.configure(second)
        send_mail("thread", "Body", "from@example.com", ["to@example.com"])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    send_mail("main", "Body", "from@example.com", ["to@example.com"])
    assert first.outbox == []
    assert [m.subject for m in second.outbox] == ["thread", "main"]


def test_a_view_sending_mail_follows_push_for_one_request():
    default, pushed = djng.mail.Memory(), djng.mail.Memory()
    djng.mail.configure(default)

    def view(request):
        if request.GET.get("push"):
            djng.mail.push(pushed)
        send_mail(request.GET.get("s", ""), "Body", "from@example.com", ["to@example.com"])
        return "sent"

    client = Client(view)
    client.get("/", {"push": "1", "s": "pushed"})
    client.get("/", {"s": "plain"})
    assert [m.subject for m in pushed.outbox] == ["pushed"]
    assert [m.subject for m in default.outbox] == ["plain"]


def test_a_view_sending_through_smtp_in_effect(smtp_server):
    host, port = smtp_server.server_address

    @djng.mail.use(djng.mail.SMTP(host, port, timeout=5))
    def view(request):
        return str(send_mail("From a view", "Body", "from@example.com", ["to@example.com"]))

    assert Client(view).get("/").text == "1"
    assert email.message_from_bytes(smtp_server.received[0]["data"])["Subject"] == "From a view"
