"""djng.debug (technical 500 pages) and djng.errors (where unhandled exceptions are reported)."""

from __future__ import annotations

import logging

import pytest
from django.views.decorators.debug import sensitive_post_parameters
from werkzeug.test import EnvironBuilder

import djng
from djng.services.stack import _UNSET
from djng.testing import Client

HTML = {"Accept": "text/html"}


class Kaboom(Exception):
    pass


def boom(request):
    raise Kaboom(f"kaboom at {request.path}")


class Recorder:
    """A reporter that keeps what it was given."""

    def __init__(self):
        self.reports = []

    def report(self, request, exc):
        self.reports.append((request.path, exc))


class Broken:
    def report(self, request, exc):
        raise RuntimeError("the reporter itself failed")


# -- debug --------------------------------------------------------------------------------


def test_debug_is_off_by_default_and_a_boolean():
    djng.debug.reset()
    assert djng.debug._default is _UNSET
    assert djng.debug.current() is False
    assert not djng.debug
    with djng.debug.use(True):
        assert djng.debug
    for wrong in ("yes", 1, None):
        with pytest.raises(TypeError, match=r"djng\.debug expects True or False"):
            djng.debug.configure(wrong)


def test_debug_use_shows_djangos_technical_500_page():
    djng.debug.configure(False)
    djng.errors.configure(Recorder())
    with djng.debug.use(True):
        response = Client(boom, raise_exceptions=False).get("/oops", headers=HTML)
    assert response.status_code == 500
    assert "Traceback" in response.text
    assert "Kaboom" in response.text
    assert "kaboom at /oops" in response.text


def test_without_debug_the_500_page_is_generic():
    djng.debug.configure(False)
    djng.errors.configure(Recorder())
    response = Client(boom, raise_exceptions=False).get("/oops", headers=HTML)
    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "Kaboom" not in response.text and "kaboom" not in response.text


def test_debug_configure_shows_the_technical_page_in_every_thread():
    djng.errors.configure(Recorder())
    djng.debug.configure(True)
    response = Client(boom, raise_exceptions=False).get("/", headers=HTML)
    assert response.status_code == 500 and "Kaboom" in response.text


def test_debug_push_in_one_request_affects_only_that_request():
    djng.debug.configure(False)
    djng.errors.configure(Recorder())

    def view(request):
        if request.GET.get("debug"):
            djng.debug.push(True)
        raise Kaboom("pushed")

    client = Client(view, raise_exceptions=False)
    debugged = client.get("/", {"debug": 1}, headers=HTML)
    plain = client.get("/", headers=HTML)
    assert debugged.status_code == plain.status_code == 500
    assert "Traceback" in debugged.text and "Kaboom" in debugged.text
    assert "Traceback" not in plain.text and "Kaboom" not in plain.text


def test_the_client_raises_the_exception_again_whatever_debug_says():
    djng.errors.configure(Recorder())
    for value in (True, False):
        with djng.debug.use(value), pytest.raises(Kaboom):
            Client(boom).get("/")


# -- errors: Log ----------------------------------------------------------------------------


def test_the_default_reporter_logs_to_djng_request_with_the_traceback(caplog):
    djng.errors.reset()
    assert djng.errors._default is _UNSET
    with caplog.at_level(logging.ERROR, logger="djng.request"):
        response = Client(boom, raise_exceptions=False).get("/logged")
    assert response.status_code == 500
    assert isinstance(djng.errors._default, djng.errors.Log)
    [record] = [r for r in caplog.records if r.name == "djng.request"]
    assert record.levelno == logging.ERROR
    assert "/logged" in record.getMessage()
    assert record.exc_info[0] is Kaboom
    assert record.status_code == 500
    assert record.request.path == "/logged"
    assert "Traceback" in caplog.text and "kaboom at /logged" in caplog.text


def test_log_to_another_logger(caplog):
    with caplog.at_level(logging.ERROR, logger="svc.custom"):
        with djng.errors.use(djng.errors.Log("svc.custom")):
            Client(boom, raise_exceptions=False).get("/custom")
    assert [r.name for r in caplog.records if r.exc_info] == ["svc.custom"]


# -- errors: Mail ---------------------------------------------------------------------------


def test_mail_sends_djangos_error_report_through_the_mail_service_in_effect():
    outbox = djng.mail.Memory()
    djng.mail.configure(djng.mail.Memory())  # not this one

    def view(request):
        djng.mail.push(outbox)
        return boom(request)

    with djng.errors.use(djng.errors.Mail(to=["ops@example.com"])):
        response = Client(view, raise_exceptions=False).get("/mailed/page")
    assert response.status_code == 500
    [message] = outbox.outbox
    assert djng.mail.outbox == []
    assert message.to == ["ops@example.com"]
    assert "/mailed/page" in message.subject
    assert message.subject.startswith("[djng] ")
    assert "Traceback" in message.body
    assert "kaboom at /mailed/page" in message.body
    assert "Kaboom" in message.body


def test_mail_filters_sensitive_post_parameters():
    outbox = djng.mail.Memory()

    @sensitive_post_parameters("password")
    def login(request):
        raise Kaboom("login failed")

    with djng.mail.use(outbox), djng.errors.use(djng.errors.Mail(to=["ops@example.com"])):
        response = Client(login, raise_exceptions=False).post(
            "/login", {"username": "ada-lovelace", "password": "hunter2-secret"}
        )
    assert response.status_code == 500
    [message] = outbox.outbox
    assert "ada-lovelace" in message.body
    assert "hunter2-secret" not in message.body
    assert "********" in message.body


def test_mail_with_html_attaches_the_html_report():
    outbox = djng.mail.Memory()
    reporter = djng.errors.Mail(to=["ops@example.com"], subject_prefix="!", include_html=True)
    with djng.mail.use(outbox), djng.errors.use(reporter):
        Client(boom, raise_exceptions=False).get("/html")
    [message] = outbox.outbox
    assert message.subject.startswith("!")
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and "Kaboom" in html


def test_mail_needs_a_list_of_addresses():
    for wrong in ("ops@example.com", []):
        with pytest.raises(TypeError, match="list of e-mail addresses"):
            djng.errors.Mail(to=wrong)


# -- errors: Multiple, failures, once per exception ----------------------------------------------


def test_multiple_reports_to_all_even_when_one_fails(caplog):
    outbox = djng.mail.Memory()
    first, last = Recorder(), Recorder()
    reporter = djng.errors.Multiple(
        first, djng.errors.Log(), Broken(), djng.errors.Mail(to=["ops@example.com"]), last
    )
    with caplog.at_level(logging.ERROR):
        with djng.mail.use(outbox), djng.errors.use(reporter):
            response = Client(boom, raise_exceptions=False).get("/multi")
    assert response.status_code == 500
    assert [path for path, _ in first.reports] == ["/multi"]
    assert [path for path, _ in last.reports] == ["/multi"]
    assert first.reports[0][1] is last.reports[0][1]
    assert len(outbox.outbox) == 1
    names = [r.name for r in caplog.records]
    assert "djng.request" in names
    assert any("the reporter itself failed" in r.getMessage() or r.exc_info for r in caplog.records)
    assert "Broken" in caplog.text


def test_multiple_checks_its_reporters():
    with pytest.raises(TypeError, match="report"):
        djng.errors.Multiple(djng.errors.Log(), object())


def test_a_failing_reporter_does_not_crash_the_request(caplog):
    with caplog.at_level(logging.ERROR, logger="djng.errors"):
        with djng.errors.use(Broken()):
            response = Client(boom, raise_exceptions=False).get("/broken")
    assert response.status_code == 500
    assert "the reporter itself failed" in caplog.text
    assert "kaboom at /broken" in caplog.text  # the original exception is still logged


def test_a_non_reporter_is_refused():
    with pytest.raises(TypeError, match=r"djng\.errors expects an error reporter"):
        djng.errors.configure(print)


def test_errors_push_in_one_request_affects_only_that_request():
    default, pushed = Recorder(), Recorder()
    djng.errors.configure(default)

    def view(request):
        if request.GET.get("push"):
            djng.errors.push(pushed)
        raise Kaboom("x")

    client = Client(view, raise_exceptions=False)
    client.get("/pushed", {"push": 1})
    client.get("/plain")
    assert [p for p, _ in pushed.reports] == ["/pushed"]
    assert [p for p, _ in default.reports] == ["/plain"]


def test_each_exception_is_reported_once():
    recorder = Recorder()
    djng.errors.configure(recorder)
    client = Client(boom, raise_exceptions=False)
    client.get("/one")
    client.get("/two")
    assert [p for p, _ in recorder.reports] == ["/one", "/two"]
    assert recorder.reports[0][1] is not recorder.reports[1][1]


def test_an_exception_through_nested_error_layers_is_reported_once():
    recorder = Recorder()
    djng.errors.configure(recorder)
    inner = djng.reconfigure(boom, debug=False)
    app = djng.errors(inner, server_error=lambda request: "custom error page")
    response = Client(app, raise_exceptions=False).get("/nested")
    assert response.status_code == 500
    assert response.text == "custom error page"
    assert [p for p, _ in recorder.reports] == ["/nested"]


def test_reconfigure_errors_reports_to_the_apps_own_reporter():
    outer, inner = Recorder(), Recorder()
    djng.errors.configure(outer)
    app = djng.Router(
        djng.path("section/boom", djng.reconfigure(boom, errors=inner)),
        djng.path("boom", boom),
    )
    client = Client(app, raise_exceptions=False)
    assert client.get("/section/boom").status_code == 500
    assert client.get("/boom").status_code == 500
    assert [p for p, _ in inner.reports] == ["/section/boom"]
    assert [p for p, _ in outer.reports] == ["/boom"]


# -- credentials never reach a report through djng's own frames ---------------------------

CREDENTIALS = {
    "Authorization": "Bearer TOKEN-123-secret",
    "X-Api-Key": "KEY-456-secret",
    "Cookie": "sessionid=SESS-789-secret; csrftoken=CSRF-000-secret",
}


class FailingResponse:
    """A Django middleware whose process_response fails (as a session that cannot be saved)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.get_response(request)
        raise RuntimeError("process_response failed")


def mounted_wsgi_app(environ, start_response):
    raise RuntimeError("the mounted app failed")


APPS = {
    "middleware around a view": lambda: djng.middleware(FailingResponse)(lambda request: "ok"),
    "middleware around a Router": lambda: djng.middleware(FailingResponse)(
        djng.Router(djng.mount("m", djng.Router(djng.path("", lambda request: "ok"))))
    ),
    "a mounted WSGI app": lambda: djng.gzip(
        djng.Router(djng.mount("m", djng.from_wsgi(mounted_wsgi_app)))
    ),
}


def _leaks(text):
    return [value for value in ("TOKEN-123", "KEY-456", "SESS-789", "CSRF-000") if value in text]


@pytest.mark.parametrize("app", list(APPS))
def test_the_debug_page_shows_no_credentials(app):
    client = Client(djng.reconfigure(APPS[app](), debug=True), raise_exceptions=False)
    response = client.get("/m/", headers={**CREDENTIALS, "Accept": "text/html"})
    assert response.status_code == 500
    assert "Traceback" in response.text and "failed" in response.text
    assert _leaks(response.text) == []


@pytest.mark.parametrize("app", list(APPS))
def test_mailed_reports_show_no_credentials(app):
    outbox = djng.mail.Memory()
    reporter = djng.errors.Mail(to=["ops@example.com"], include_html=True)
    site = djng.reconfigure(APPS[app](), errors=reporter, mail=outbox)
    response = Client(site, raise_exceptions=False).get("/m/", headers=CREDENTIALS)
    assert response.status_code == 500
    (message,) = outbox.outbox
    html = message.alternatives[0][0]
    assert "failed" in message.body and "failed" in html
    assert _leaks(message.body) == []
    assert _leaks(html) == []


# -- an exception while a streaming body is sent -------------------------------------------


def test_an_exception_while_streaming_is_reported_then_ends_the_response():
    recorder = Recorder()

    def rows():
        yield b"first row\n"
        raise Kaboom("the export broke")

    app = djng.Router(djng.path("export", lambda request: djng.StreamingResponse(rows())))
    environ = EnvironBuilder(path="/export").get_environ()
    with djng.errors.use(recorder):
        body = djng.wsgi(app)(environ, lambda status, headers, exc_info=None: None)
        chunks = iter(body)
        assert next(chunks) == b"first row\n"
        with pytest.raises(Kaboom):
            next(chunks)  # the server ends the connection; the client sees a short body
        body.close()
    assert [(path, str(exc)) for path, exc in recorder.reports] == [
        ("/export", "the export broke")
    ]
