"""djng.testing.Client, and the examples used through it."""

from __future__ import annotations

import json

import pytest
from conftest import load_example

import djng
from djng.testing import Client


def echo(request, **kwargs):
    return {
        "method": request.method,
        "path": request.path,
        "query": {key: request.GET.getlist(key) for key in request.GET},
        "form": {key: request.POST.getlist(key) for key in request.POST},
        "body": request.body.decode(),
        "content_type": request.content_type,
        "headers": {
            "x-token": request.headers.get("X-Token"),
            "x-default": request.headers.get("X-Default"),
        },
        "cookies": dict(request.COOKIES),
    }


ECHO = djng.Router(djng.path("echo", echo), djng.path("echo/<path:rest>", echo))


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_every_verb_reaches_the_app(method):
    response = getattr(Client(ECHO), method)("/echo")
    assert response.status_code == 200
    assert response.json()["method"] == method.upper()


def test_head_has_no_body_but_the_view_runs():
    calls = []
    app = djng.Router(djng.path("h", lambda request: calls.append(request.method) or "body"))
    response = Client(app).head("/h")
    assert response.status_code == 200
    assert response.content == b""
    assert calls == ["HEAD"]


def over_a_real_server(app, method, path):
    """(status, headers, body) of one request to ``djng.wsgi(app)`` served on a socket."""
    import http.client
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, djng.wsgi(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
        connection.request(method, path)
        response = connection.getresponse()
        result = response.status, dict(response.getheaders()), response.read()
        connection.close()
        return result
    finally:
        server.shutdown()
        thread.join(5)


RESPONSES = {
    "plain": lambda request: djng.Response("plain body"),
    "streaming": lambda request: djng.StreamingResponse(iter([b"streamed ", b"body"])),
    "json": lambda request: {"k": "v"},
}


@pytest.mark.parametrize("kind", list(RESPONSES))
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_client_gets_the_bytes_a_real_server_sends(kind, method):
    app = djng.Router(djng.path("r", RESPONSES[kind]))
    status, headers, body = over_a_real_server(app, method, "/r")
    response = Client(app).request(method, "/r")
    assert (response.status_code, response.content) == (status, body)
    assert response["Content-Type"] == headers["Content-Type"]
    if method == "HEAD":
        assert body == b""


def test_query_strings():
    client = Client(ECHO)
    assert client.get("/echo?a=1&a=2&b=x").json()["query"] == {"a": ["1", "2"], "b": ["x"]}
    assert client.get("/echo", query={"q": "search term"}).json()["query"] == {"q": ["search term"]}
    assert client.get("/echo", {"page": "3"}).json()["query"] == {"page": ["3"]}
    assert client.delete("/echo?id=9").json()["query"] == {"id": ["9"]}


def test_form_data():
    seen = Client(ECHO).post("/echo", data={"name": "Ada", "tags": ["a", "b"]}).json()
    assert seen["form"] == {"name": ["Ada"], "tags": ["a", "b"]}
    assert seen["content_type"] == "application/x-www-form-urlencoded"


def test_file_upload():
    import io

    def upload(request):
        upload = request.FILES["doc"]
        return {"name": upload.name, "data": upload.read().decode(), "other": request.POST["k"]}

    response = Client(upload).post("/", data={"doc": (io.BytesIO(b"file data"), "a.txt"), "k": "v"})
    assert response.json() == {"name": "a.txt", "data": "file data", "other": "v"}


def test_json_body():
    seen = Client(ECHO).put("/echo", json={"a": [1, 2], "b": None}).json()
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"a": [1, 2], "b": None}
    seen = Client(ECHO).patch("/echo", json=[1, "x"]).json()
    assert json.loads(seen["body"]) == [1, "x"]


def test_raw_body_with_content_type():
    seen = Client(ECHO).post("/echo", data="<x/>", content_type="application/xml").json()
    assert (seen["body"], seen["content_type"]) == ("<x/>", "application/xml")


def test_headers_per_request_and_per_client():
    client = Client(ECHO, headers={"X-Default": "d"})
    seen = client.get("/echo", headers={"X-Token": "t"}).json()
    assert seen["headers"] == {"x-token": "t", "x-default": "d"}
    assert client.get("/echo").json()["headers"] == {"x-token": None, "x-default": "d"}


def test_the_client_has_an_address():
    address = lambda request: request.META["REMOTE_ADDR"]
    assert Client(address).get("/").content == b"127.0.0.1"
    assert Client(address, remote_addr="10.0.0.9").get("/").content == b"10.0.0.9"


def test_response_attributes():
    def view(request):
        response = djng.JsonResponse({"ok": True}, status=201)
        response["X-Thing"] = "thing"
        response.set_cookie("c", "v")
        return response

    response = Client(view).get("/")
    assert response.status_code == 201
    assert response.headers["X-Thing"] == "thing"
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == b'{"ok": true}'
    assert response.text == '{"ok": true}'
    assert response.json() == {"ok": True}
    assert response.cookies["c"].value == "v"
    assert response.wsgi_request.path == "/"


def test_json_of_a_streaming_response():
    response = Client(lambda request: djng.StreamingResponse([b'{"a"', b": 1}"])).get("/")
    assert response.json() == {"a": 1}
    assert response.json() == {"a": 1}  # can be read again


def test_cookies_are_kept_and_deleted():
    def login(request):
        response = djng.Response("in")
        response.set_cookie("session", "abc123")
        response.set_cookie("theme", "dark")
        return response

    def logout(request):
        response = djng.Response("out")
        response.delete_cookie("session")
        return response

    app = djng.Router(
        djng.path("login", login), djng.path("logout", logout), djng.path("echo", echo)
    )
    client = Client(app)
    assert client.get("/echo").json()["cookies"] == {}
    client.get("/login")
    assert client.get("/echo").json()["cookies"] == {"session": "abc123", "theme": "dark"}
    client.get("/logout")
    assert client.get("/echo").json()["cookies"] == {"theme": "dark"}
    assert "session" not in client.cookies


def test_explicit_cookie_header_wins():
    client = Client(ECHO)
    client.cookies["kept"] = "1"
    seen = client.get("/echo", headers={"Cookie": "mine=2"}).json()
    assert seen["cookies"] == {"mine": "2"}


def test_exceptions_are_raised_by_default():
    def broken(request):
        raise ZeroDivisionError("division")

    with pytest.raises(ZeroDivisionError, match="division"):
        Client(broken).get("/")
    response = Client(broken, raise_exceptions=False).get("/")
    assert response.status_code == 500


def test_http_errors_are_responses_not_exceptions():
    response = Client(ECHO).get("/nowhere")
    assert response.status_code == 404


def test_follow_redirects():
    app = djng.Router(
        djng.path("old", lambda request: djng.redirect("/middle")),
        djng.path("middle", lambda request: djng.redirect("./new?x=1", permanent=True)),
        djng.path("new", echo),
        djng.path("post-here", lambda request: djng.redirect("/new"), methods=["POST"]),
        djng.path("keep", lambda request: djng.Response(status=307, headers={"Location": "/new"})),
    )
    client = Client(app)
    assert client.get("/old").status_code == 302
    response = client.get("/old", follow=True)
    assert response.status_code == 200
    assert response.json()["query"] == {"x": ["1"]}
    assert response.redirect_chain == [("/middle", 302), ("/new?x=1", 301)]
    after_post = client.post("/post-here", data={"a": "1"}, follow=True).json()
    assert after_post["method"] == "GET"
    kept = client.post("/keep", data={"a": "1"}, follow=True).json()
    assert (kept["method"], kept["form"]) == ("POST", {"a": ["1"]})


def test_redirect_loop_is_stopped():
    app = djng.Router(djng.path("loop", lambda request: djng.redirect("/loop")))
    with pytest.raises(RuntimeError, match="redirects"):
        Client(app).get("/loop", follow=True)


def test_client_scope_reaches_the_app_and_app_pushes_do_not_leak():
    def view(request):
        before = djng.debug.current()
        djng.debug.push(not before)
        return {"before": before, "after": djng.debug.current()}

    client = Client(view)
    with djng.debug.use(True):
        assert client.get("/").json() == {"before": True, "after": False}
        assert djng.debug.current() is True
    assert client.get("/").json() == {"before": False, "after": True}
    assert djng.debug.current() is False


# -- the examples ------------------------------------------------------------------


def test_hello_example():
    hello = load_example("hello")
    client = Client(hello.index)
    response = client.get("/")
    assert (response.status_code, response.content) == (200, b"Hello, world")
    assert client.get("/anything").content == b"Hello, world"


def test_router_example():
    example = load_example("router")
    client = Client(example.app)
    assert client.get("/hello").content == b"Hello, world"
    assert client.get("/goodbye").content == b"Goodbye, world"
    assert client.get("/").status_code == 404
    assert client.get("/hello/again").status_code == 404


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_mounting_example():
    example = load_example("mounting")
    client = Client(example.site)
    home = client.get("/")
    assert home.status_code == 200 and b"<h1>" in home.content
    assert client.get("/users/42").json() == {"id": 42, "url": "/users/42"}
    assert client.get("/users/x").status_code == 404
    notes = client.get("/notes").json()["notes"]
    added = client.post("/notes", data={"text": "new note"})
    assert added.status_code == 201
    assert added["Location"] == "/notes"
    assert added.json()["notes"] == [*notes, "new note"]
    assert client.post("/notes", data={}).status_code == 400
    assert client.put("/notes").status_code == 405
    assert client.get("/api/items/7").json()["self"] == "/api/items/7"
    assert client.get("/api/items").json() == [{"id": 1}, {"id": 2}, {"id": 3}]
    missing = client.get("/api/nothing")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    assert missing.json()["detail"].startswith("/api/nothing")
    elsewhere = client.get("/nothing", headers={"Accept": "application/json"})
    assert elsewhere.status_code == 404
    assert "No such API" not in elsewhere.content.decode()


def test_mounting_example_flask_and_gzip():
    pytest.importorskip("flask")
    client = Client(load_example("mounting").site)
    hello = client.get("/flask/hello", query={"name": "test"})
    assert hello.status_code == 200
    assert body(hello) == b"Hello test from Flask at /flask"
    echoed = client.post("/flask/echo", data=b"payload", content_type="text/plain")
    assert json.loads(body(echoed)) == {"path": "/echo", "root": "/flask", "body": "payload"}
    compressed = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert compressed["Content-Encoding"] == "gzip"


def test_mounting_example_wsgi_application():
    from werkzeug.test import Client as WerkzeugClient

    example = load_example("mounting")
    response = WerkzeugClient(example.application).get("/users/5")
    assert response.status_code == 200
    assert response.json == {"id": 5, "url": "/users/5"}


def test_a_raised_exception_is_not_also_logged(caplog):
    def boom(request):
        raise ZeroDivisionError("raised-once")

    with pytest.raises(ZeroDivisionError):
        Client(boom).get("/")
    assert "raised-once" not in caplog.text and not any(r.exc_info for r in caplog.records)
    response = Client(boom, raise_exceptions=False).get("/")
    assert response.status_code == 500
    assert [r.name for r in caplog.records if r.exc_info] == ["djng.request"]


def test_an_exception_in_a_djng_app_mounted_through_wsgi_is_raised_too():
    def boom(request):
        raise ZeroDivisionError("inside")

    inner = djng.Router(djng.path("x", boom))
    outer = djng.Router(djng.mount("in", djng.from_wsgi(djng.wsgi(inner))))
    with pytest.raises(ZeroDivisionError, match="inside"):
        Client(outer).get("/in/x")
    assert Client(outer, raise_exceptions=False).get("/in/x").status_code == 500


def test_content_and_text_of_wsgi_mounts_and_streaming_responses():
    def wsgi_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        yield "from wsgi é".encode()

    app = djng.Router(
        djng.mount("w", djng.from_wsgi(wsgi_app)),
        djng.path("s", lambda request: djng.StreamingResponse(iter([b"stre", b"amed"]))),
    )
    client = Client(app)
    for path, text in (("/w/", "from wsgi é"), ("/s", "streamed")):
        response = client.get(path)
        assert response.streaming
        assert response.text == text and response.content == text.encode()
        assert response.text == text  # read once, kept
        assert b"".join(response.streaming_content) == text.encode()
    assert Client(djng.from_wsgi(wsgi_app)).get("/").text == "from wsgi é"
