"""djng.from_wsgi(): a WSGI app (Flask) mounted under a prefix as a djng view."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished
from werkzeug.test import Client as WerkzeugClient

import djng
from djng.testing import Client

flask = pytest.importorskip("flask")

#: What the mounted Flask app's streamed responses recorded when closed.
CLOSED: list[str] = []


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def make_flask():
    app = flask.Flask("mounted")
    request = flask.request

    @app.route("/")
    def index():
        return "flask index"

    @app.route("/where/<part>")
    def where(part):
        return {
            "script_root": request.script_root,
            "path": request.path,
            "full_path": request.full_path,
            "url": request.url,
            "part": part,
            "url_for": flask.url_for("where", part="x"),
        }

    @app.route("/echo", methods=["POST", "PUT"])
    def echo():
        return {
            "method": request.method,
            "body": request.get_data(as_text=True),
            "content_type": request.content_type,
            "form": request.form.to_dict(),
        }

    @app.route("/cookies")
    def cookies():
        response = flask.make_response("two cookies", 202)
        response.set_cookie("session", "s1", httponly=True, path="/flask")
        response.set_cookie("pref", "p2", max_age=120, samesite="Strict")
        response.headers["X-From-Flask"] = "yes"
        response.headers["Cache-Control"] = "private"
        return response

    @app.route("/created", methods=["POST"])
    def created():
        return flask.Response("made", status=201, headers={"Location": "/flask/thing/1"})

    @app.route("/teapot")
    def teapot():
        return "short and stout", 418

    @app.route("/stream")
    def stream():
        response = flask.Response((f"part{n};" for n in range(3)), mimetype="text/plain")
        response.call_on_close(lambda: CLOSED.append("flask"))
        return response

    return app


def site():
    return djng.Router(
        djng.path("", lambda request: "djng home"),
        djng.mount("flask", djng.from_wsgi(make_flask())),
        djng.path("flaskish", lambda request: "not flask"),
    )


def test_prefix_goes_to_script_name_and_the_rest_to_path_info():
    response = Client(site()).get("/flask/where/here?q=1")
    assert response.status_code == 200
    seen = flask.json.loads(body(response))
    assert seen["script_root"] == "/flask"
    assert seen["path"] == "/where/here"
    assert seen["full_path"] == "/where/here?q=1"
    assert seen["url"] == "http://testserver/flask/where/here?q=1"
    assert seen["part"] == "here"
    assert seen["url_for"] == "/flask/where/x"


def test_mount_root_and_siblings():
    client = Client(site())
    assert body(client.get("/flask/")) == b"flask index"
    assert body(client.get("/flask")) == b"flask index"
    assert client.get("/flaskish").content == b"not flask"
    assert client.get("/").content == b"djng home"


def test_post_body_passes_through():
    client = Client(site())
    response = client.post("/flask/echo", data=b'{"raw": true}', content_type="application/json")
    seen = flask.json.loads(body(response))
    assert seen == {
        "method": "POST",
        "body": '{"raw": true}',
        "content_type": "application/json",
        "form": {},
    }
    response = client.put("/flask/echo", data={"a": "1", "b": "two"})
    seen = flask.json.loads(body(response))
    assert seen["method"] == "PUT"
    assert seen["form"] == {"a": "1", "b": "two"}


def test_body_read_by_an_outer_layer_still_reaches_the_app():
    inner = djng.from_wsgi(make_flask())

    def peeking(request):
        assert request.body == b"peeked"
        return inner(request)

    response = Client(djng.Router(djng.mount("flask", peeking))).post(
        "/flask/echo", data=b"peeked", content_type="text/plain"
    )
    assert flask.json.loads(body(response))["body"] == "peeked"


def test_status_headers_and_every_cookie_are_kept():
    client = Client(site())
    response = client.get("/flask/cookies")
    assert response.status_code == 202
    assert response["X-From-Flask"] == "yes"
    assert response["Cache-Control"] == "private"
    assert set(response.cookies) == {"session", "pref"}
    assert response.cookies["session"].value == "s1"
    assert response.cookies["session"]["httponly"] is True
    assert response.cookies["session"]["path"] == "/flask"
    assert response.cookies["pref"]["max-age"] == "120"
    assert response.cookies["pref"]["samesite"] == "Strict"
    assert client.cookies["session"].value == "s1"
    other = client.post("/flask/created")
    assert (other.status_code, other["Location"]) == (201, "/flask/thing/1")
    teapot = client.get("/flask/teapot")
    assert teapot.status_code == 418
    assert body(teapot) == b"short and stout"


def test_cookies_survive_the_real_wsgi_adapter():
    response = WerkzeugClient(djng.wsgi(site())).get("/flask/cookies")
    assert response.status_code == 202
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2
    session = next(c for c in cookies if c.startswith("session="))
    pref = next(c for c in cookies if c.startswith("pref="))
    assert "HttpOnly" in session and "Path=/flask" in session
    assert "Max-Age=120" in pref and "SameSite=Strict" in pref


def test_flask_404_stays_flasks_and_djng_404_stays_djngs():
    client = Client(site())
    flask_missing = client.get("/flask/nothing-here")
    assert flask_missing.status_code == 404
    assert b"The requested URL was not found" in body(flask_missing)
    djng_missing = client.get("/nothing-here", headers={"Accept": "application/json"})
    assert djng_missing.status_code == 404
    assert djng_missing["Content-Type"] == "application/problem+json"


def test_streaming_flask_response_and_close():
    finished = []

    def receiver(sender, **kwargs):
        finished.append(sender)

    CLOSED.clear()
    request_finished.connect(receiver)
    try:
        response = WerkzeugClient(djng.wsgi(site())).get("/flask/stream")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "Content-Length" not in response.headers
        assert response.data == b"part0;part1;part2;"
        assert CLOSED == [] and finished == []
        response.close()
    finally:
        request_finished.disconnect(receiver)
    assert CLOSED == ["flask"]
    assert len(finished) == 1


def test_nested_mount_adds_both_prefixes():
    inner = djng.Router(djng.mount("flask", djng.from_wsgi(make_flask())))
    outer = djng.Router(djng.mount("v1", inner))
    seen = flask.json.loads(body(Client(outer).get("/v1/flask/where/deep")))
    assert seen["script_root"] == "/v1/flask"
    assert seen["path"] == "/where/deep"


def test_any_wsgi_callable_works(adapter):
    def plain_wsgi(environ, start_response):
        start_response("203 Custom Thing", [("Content-Type", "text/plain"), ("X-A", "1")])
        return [environ["SCRIPT_NAME"].encode(), b"|", environ["PATH_INFO"].encode()]

    response = Client(djng.Router(djng.mount("w", djng.from_wsgi(plain_wsgi)))).get("/w/a/b")
    assert response.status_code == 203
    if adapter == "wsgi":  # ASGI sends no reason phrase
        assert response.reason_phrase == "Custom Thing"
    assert response["Content-Type"] == "text/plain"
    assert response["X-A"] == "1"
    assert response.content == b"/w|/a/b"


def test_app_that_never_starts_a_response_is_an_error():
    def broken(environ, start_response):
        return [b"no start_response"]

    with pytest.raises(RuntimeError, match="did not call start_response"):
        Client(djng.from_wsgi(broken)).get("/")


def test_from_wsgi_needs_a_callable():
    with pytest.raises(TypeError):
        djng.from_wsgi("app:application")
