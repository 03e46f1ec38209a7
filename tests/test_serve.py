"""djng.wsgi() as a standard WSGI callable, and djng.serve() / gunicorn over real sockets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import (
    EXAMPLES,
    TIMEOUT,
    child_env,
    free_port,
    gunicorn_command,
    http_get,
    stop,
    wait_for_http,
)
from django.core.signals import request_finished
from werkzeug.test import Client as WerkzeugClient
from werkzeug.test import EnvironBuilder

import djng


class Recorder:
    """A start_response that records what it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, status, headers, exc_info=None):
        self.calls.append((status, headers))
        return lambda data: pytest.fail("djng must not use the write() callable")

    @property
    def status(self):
        return self.calls[-1][0]

    @property
    def headers(self):
        return self.calls[-1][1]

    def values(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]


def call(app, *args, **kwargs):
    environ = EnvironBuilder(*args, **kwargs).get_environ()
    recorder = Recorder()
    body = djng.wsgi(app)(environ, recorder)
    return environ, recorder, body


@pytest.fixture
def finished():
    """How many times Django's request_finished signal fired."""
    fired = []

    def receiver(sender, **kwargs):
        fired.append(sender)

    request_finished.connect(receiver)
    try:
        yield fired
    finally:
        request_finished.disconnect(receiver)


# -- the WSGI callable ----------------------------------------------------------------


def test_wsgi_status_line_headers_and_body(finished):
    def view(request):
        return (
            "created " + request.GET["name"],
            201,
            {"X-Custom": "yes", "Cache-Control": "no-store"},
        )

    _, recorder, body = call(djng.Router(djng.path("make", view)), "/make?name=x", method="POST")
    assert len(recorder.calls) == 1
    assert recorder.status == "201 Created"
    assert recorder.values("X-Custom") == ["yes"]
    assert recorder.values("Cache-Control") == ["no-store"]
    assert recorder.values("Content-Type") == ["text/html; charset=utf-8"]
    assert recorder.values("Content-Length") == [str(len(b"created x"))]
    assert b"".join(body) == b"created x"
    assert finished == []
    body.close()
    assert len(finished) == 1


def test_wsgi_status_lines_for_errors():
    app = djng.Router(djng.path("only-post", lambda request: "x", methods=["POST"]))
    _, recorder, body = call(app, "/nowhere")
    assert recorder.status == "404 Not Found"
    body.close()
    _, recorder, body = call(app, "/only-post")
    assert recorder.status == "405 Method Not Allowed"
    assert recorder.values("Allow") == ["OPTIONS, POST"]
    body.close()


def test_wsgi_sends_every_cookie_on_its_own_header():
    def view(request):
        response = djng.Response("cookies")
        response.set_cookie("session", "abc", httponly=True, path="/app")
        response.set_cookie("theme", "dark", max_age=60, samesite="Lax")
        response.set_cookie("third", "3", secure=True)
        return response

    _, recorder, body = call(view, "/")
    cookies = recorder.values("Set-Cookie")
    assert len(cookies) == 3
    by_name = {cookie.split("=", 1)[0]: cookie for cookie in cookies}
    assert "HttpOnly" in by_name["session"] and "Path=/app" in by_name["session"]
    assert "Max-Age=60" in by_name["theme"] and "SameSite=Lax" in by_name["theme"]
    assert "Secure" in by_name["third"]
    body.close()


def test_wsgi_streams_without_content_length(finished):
    produced = []

    def chunks():
        for index in range(3):
            produced.append(index)
            yield f"chunk{index};".encode()

    _, recorder, body = call(lambda request: djng.StreamingResponse(chunks()), "/")
    assert recorder.values("Content-Length") == []
    assert produced == []  # nothing is produced before the server iterates
    received = []
    for chunk in body:
        received.append(chunk)
        assert len(produced) == len(received)
    assert b"".join(received) == b"chunk0;chunk1;chunk2;"
    body.close()
    assert len(finished) == 1


def test_streaming_body_runs_in_the_request_context():
    def view(request):
        djng.debug.push(True)

        def chunks():
            yield str(djng.debug.current()).encode()

        return djng.StreamingResponse(chunks())

    _, _, body = call(view, "/")
    try:
        assert b"".join(body) == b"True"
    finally:
        body.close()
    assert djng.debug.current() is False


def test_file_response_uses_wsgi_file_wrapper(tmp_path, finished):
    target = tmp_path / "data.bin"
    target.write_bytes(b"0123456789" * 100)
    opened = []

    class FileWrapper:
        def __init__(self, filelike, block_size=8192):
            opened.append(self)
            self.filelike = filelike
            self.block_size = block_size

        def __iter__(self):
            while chunk := self.filelike.read(self.block_size):
                yield chunk

        def close(self):
            self.filelike.close()

    def view(request):
        return djng.FileResponse(open(target, "rb"), as_attachment=True, filename="data.bin")

    environ = EnvironBuilder("/").get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    recorder = Recorder()
    body = djng.wsgi(view)(environ, recorder)
    assert opened == [body]
    assert recorder.status == "200 OK"
    assert recorder.values("Content-Length") == ["1000"]
    assert 'filename="data.bin"' in recorder.values("Content-Disposition")[0]
    assert b"".join(body) == target.read_bytes()
    assert finished == []
    body.close()
    assert body.filelike.closed
    assert len(finished) == 1


def test_file_response_without_file_wrapper(tmp_path):
    target = tmp_path / "plain.txt"
    target.write_text("file body")
    environ = EnvironBuilder("/").get_environ()
    environ.pop("wsgi.file_wrapper", None)
    recorder = Recorder()
    body = djng.wsgi(lambda request: djng.FileResponse(open(target, "rb")))(environ, recorder)
    try:
        assert b"".join(body) == b"file body"
    finally:
        body.close()


def test_wsgi_of_a_wsgi_handler_is_itself():
    handler = djng.wsgi(lambda request: "x")
    assert djng.wsgi(handler) is handler
    with pytest.raises(TypeError):
        djng.wsgi("not an app")


def test_werkzeug_client_against_djng_wsgi():
    def echo(request):
        return {
            "method": request.method,
            "form": request.POST.dict(),
            "query": request.GET.dict(),
            "cookie": request.COOKIES.get("c"),
            "header": request.headers.get("X-Thing"),
        }

    def set_cookies(request):
        response = djng.Response("set")
        response.set_cookie("c", "1")
        response.set_cookie("d", "2", httponly=True)
        return response

    app = djng.Router(djng.path("echo", echo), djng.path("set", set_cookies))
    client = WerkzeugClient(djng.wsgi(app))
    response = client.get("/set")
    assert sorted(response.headers.getlist("Set-Cookie"))[0].startswith("c=1")
    assert len(response.headers.getlist("Set-Cookie")) == 2
    response = client.post("/echo?q=1", data={"a": "b"}, headers={"X-Thing": "t"})
    assert response.status_code == 200
    assert response.json == {
        "method": "POST",
        "form": {"a": "b"},
        "query": {"q": "1"},
        "cookie": "1",
        "header": "t",
    }
    assert client.get("/missing").status_code == 404


# -- djng.serve() over a real socket --------------------------------------------------

SERVE_SCRIPT = """
import sys
import djng

def index(request):
    return djng.Response("served on " + request.get_host())

def boom(request):
    raise ValueError("served-boom")

site = djng.Router((r"^$", index), (r"^boom$", boom))
djng.serve(site, "127.0.0.1", int(sys.argv[1]), debug=sys.argv[2:] == ["debug"])
"""


def serve_args(port, *extra):
    return [sys.executable, "-c", SERVE_SCRIPT, str(port), *extra]


def test_serve_answers_over_http(spawn):
    port = free_port()
    proc = spawn(serve_args(port))
    status, headers, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)
    assert status == 200
    assert body == f"served on 127.0.0.1:{port}".encode()
    assert headers["Content-Length"] == str(len(body))
    status, headers, body = http_get(
        f"http://127.0.0.1:{port}/missing", headers={"Accept": "application/json"}
    )
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    status, _, body = http_get(f"http://127.0.0.1:{port}/boom")
    assert status == 500
    assert b"served-boom" not in body


def test_serve_stops_cleanly_on_ctrl_c(spawn):
    port = free_port()
    proc = spawn(serve_args(port))
    wait_for_http(f"http://127.0.0.1:{port}/", proc)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("serve() did not stop on SIGINT")
    assert proc.returncode == 0, (proc.returncode, err)
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err


def test_serve_on_a_taken_port_says_so_in_one_line(spawn):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = spawn(serve_args(port))
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("serve() kept running on a port that is taken")
    assert proc.returncode not in (0, None)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("djng: cannot listen")
    assert str(port) in lines[0]
    assert "Traceback" not in err


def test_serve_debug_shows_the_technical_page(spawn):
    port = free_port()
    proc = spawn(serve_args(port, "debug"))
    wait_for_http(f"http://127.0.0.1:{port}/", proc)
    status, _, body = http_get(f"http://127.0.0.1:{port}/boom", headers={"Accept": "text/html"})
    assert status == 500
    assert b"served-boom" in body
    assert b"Traceback" in body


def test_hello_example_over_http(spawn):
    # examples/hello.py binds 0.0.0.0:8888 as the announcement says.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", 8888))
        except OSError:
            pytest.skip("port 8888 is in use on this machine")
    proc = spawn([sys.executable, str(EXAMPLES / "hello.py")])
    status, _, body = wait_for_http("http://127.0.0.1:8888/", proc)
    assert (status, body) == (200, b"Hello, world")
    status, _, body = http_get("http://127.0.0.1:8888/any/path")
    assert (status, body) == (200, b"Hello, world")


# -- gunicorn ---------------------------------------------------------------------------


def test_gunicorn_serves_the_mounting_example(spawn):
    pytest.importorskip("gunicorn")
    port = free_port()
    proc = spawn(gunicorn_command(port, "mounting:application", EXAMPLES))
    base = f"http://127.0.0.1:{port}"
    status, _, body = wait_for_http(f"{base}/", proc)
    assert status == 200
    assert b"djng" in body
    status, _, body = http_get(f"{base}/users/42")
    assert status == 200 and b"42" in body
    status, headers, body = http_get(f"{base}/api/items/7", headers={"Accept": "application/json"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    status, headers, body = http_get(f"{base}/api/missing", headers={"Accept": "application/json"})
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    status, _, _ = http_get(f"{base}/no/such/page")
    assert status == 404
    stop(proc)


def test_gunicorn_serves_a_module_written_for_it(spawn, tmp_path):
    pytest.importorskip("gunicorn")
    (tmp_path / "site_for_gunicorn.py").write_text(
        textwrap.dedent(
            """
            import djng

            def hello(request):
                response = djng.Response("Hello from gunicorn")
                response.set_cookie("a", "1", httponly=True)
                response.set_cookie("b", "2", path="/x")
                return response

            api = djng.Router(djng.path("ping", lambda request: {"pong": request.script_name}))
            application = djng.wsgi(djng.Router((r"^$", hello), djng.mount("api", api)))
            """
        )
    )
    port = free_port()
    proc = spawn(gunicorn_command(port, "site_for_gunicorn:application", tmp_path))
    base = f"http://127.0.0.1:{port}"
    status, headers, body = wait_for_http(f"{base}/", proc)
    assert (status, body) == (200, b"Hello from gunicorn")
    cookies = headers.get_all("Set-Cookie")
    assert len(cookies) == 2
    assert any("HttpOnly" in cookie for cookie in cookies)
    assert any("Path=/x" in cookie for cookie in cookies)
    assert http_get(f"{base}/api/ping")[2] == b'{"pong": "/api"}'
    assert http_get(f"{base}/api/nothing")[0] == 404


APP_WITH_DEFAULTS = """
import djng
from django.core.files.base import ContentFile
from djng import models


class Visit(djng.Model):
    path = models.CharField(max_length=100)


def page(request):
    Visit.objects.create(path=request.path)
    djng.storage.save("uploads/note.txt", ContentFile(b"saved"))
    return djng.render(request, "page.html", {"visits": Visit.objects.count()})


app = djng.Router(djng.path("", page))
application = djng.wsgi(djng.gzip(app))

if __name__ == "__main__":
    djng.serve(app)
"""


def test_gunicorn_from_another_folder_uses_the_apps_folder(spawn, tmp_path):
    """The README's "next to the app" defaults (db.sqlite3, templates/, media/) under gunicorn
    started elsewhere, with no DJNG_APP_DIR: the app's folder is where its module is."""
    pytest.importorskip("gunicorn")
    folder, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    (folder / "templates").mkdir(parents=True)
    elsewhere.mkdir()
    (folder / "visits_site.py").write_text(APP_WITH_DEFAULTS)
    (folder / "templates" / "page.html").write_text("visits={{ visits }}")
    migrate = subprocess.run(
        [sys.executable, "visits_site.py", "migrate"],
        cwd=folder, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert (folder / "db.sqlite3").is_file()

    port = free_port()
    command = gunicorn_command(port, "visits_site:application", pythonpath=folder)
    proc = spawn(command, cwd=elsewhere)
    status, _, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)
    assert (status, body) == (200, b"visits=1")
    assert (folder / "media" / "uploads" / "note.txt").read_bytes() == b"saved"
    assert sorted(p.name for p in elsewhere.iterdir()) == []


# -- request bodies without a Content-Length ---------------------------------------------

CHUNKED_SITE = """
import djng

def echo(request):
    return {"length": len(request.body), "start": request.body[:20].decode(),
            "form": dict(request.POST.items())}

application = djng.wsgi(djng.Router(djng.path("echo", echo)))

if __name__ == "__main__":
    import sys
    djng.serve(djng.Router(djng.path("echo", echo)), port=int(sys.argv[1]))
"""


def post_chunked(port, body: bytes, content_type="application/octet-stream"):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        connection.request("POST", "/echo", body=chunks, encode_chunked=True,
                           headers={"Content-Type": content_type, "Accept": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("server", ["serve", "gunicorn", "granian"])
def test_chunked_request_bodies_reach_the_view_and_the_limit_holds(server, spawn, tmp_path):
    """Transfer-Encoding: chunked, no Content-Length: the body arrived empty (data loss)."""
    (tmp_path / "chunked_site.py").write_text(textwrap.dedent(CHUNKED_SITE))
    port = free_port()
    if server == "serve":
        proc = spawn([sys.executable, "chunked_site.py", str(port)], cwd=tmp_path)
    elif server == "granian":
        pytest.importorskip("granian")
        proc = spawn(
            [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
             "--port", str(port), "--working-dir", str(tmp_path), "chunked_site:application"],
            cwd=tmp_path,
        )
    else:
        pytest.importorskip("gunicorn")
        proc = spawn(gunicorn_command(port, "chunked_site:application", tmp_path))
    wait_for_http(f"http://127.0.0.1:{port}/", proc)
    status, body = post_chunked(port, b"hello chunked world " * 1000)
    assert status == 200, body
    assert json.loads(body) == {"length": 20000, "start": "hello chunked world ", "form": {}}
    status, body = post_chunked(port, b"a=1&b=two", "application/x-www-form-urlencoded")
    assert json.loads(body)["form"] == {"a": "1", "b": "two"}
    status, body = post_chunked(port, b"x" * (3 * 1024 * 1024))
    assert status == 413, body
    assert json.loads(body)["status"] == 413


# -- granian, the server the README recommends ---------------------------------------------

GRANIAN_SITE = """
import djng

def hello(request):
    response = djng.Response("Hello from granian")
    response.set_cookie("a", "1", httponly=True)
    response.set_cookie("b", "2", path="/x")
    return response

def stream(request):
    return djng.StreamingResponse(iter([b"one ", b"two ", b"three"]))

def echo(request):
    return {"length": len(request.body), "cache": repr(djng.cache.current())}

api = djng.Router(djng.path("ping", lambda request: {"pong": request.script_name}))
application = djng.wsgi(djng.Router(
    (r"^$", hello), djng.path("stream", stream), djng.path("echo", echo),
    djng.mount("api", djng.reconfigure(api, cache=djng.cache.LocMem("api"))),
))
"""


def test_granian_serves_djng(spawn, tmp_path):
    pytest.importorskip("granian")
    import http.client

    (tmp_path / "site_for_granian.py").write_text(textwrap.dedent(GRANIAN_SITE))
    port = free_port()
    proc = spawn(
        [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1",
         "--blocking-threads", "4", "--host", "127.0.0.1", "--port", str(port),
         "--working-dir", str(tmp_path), "site_for_granian:application"],
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    status, headers, body = wait_for_http(f"{base}/", proc)
    assert (status, body) == (200, b"Hello from granian")
    cookies = headers.get_all("Set-Cookie")
    assert len(cookies) == 2 and any("Path=/x" in cookie for cookie in cookies)
    assert http_get(f"{base}/stream")[2] == b"one two three"
    assert http_get(f"{base}/api/ping")[2] == b'{"pong": "/api"}'
    assert http_get(f"{base}/api/nothing")[0] == 404
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/echo", body=b"x" * 5000)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["length"] == 5000
    assert "LocMem('api')" not in answer["cache"]  # the mount's cache stayed in the mount


# -- serve() with async views, under werkzeug and uvicorn -------------------------------------

ASYNC_SCRIPT = """
import asyncio, os, sys
import djng

RELEASE = sys.argv[3]

async def index(request):
    await asyncio.sleep(0)
    return "async hello from " + sys.argv[2]

def plain(request):
    return "sync hello"

async def ticks(request):
    async def events():
        yield "data: first\\n\\n"
        for _ in range(400):  # the second event waits for the test to have read the first
            if os.path.exists(RELEASE):
                break
            await asyncio.sleep(0.025)
        yield "data: second\\n\\n"
    return djng.StreamingResponse(events(), content_type="text/event-stream")

app = djng.Router(djng.path("", index), djng.path("sync", plain), djng.path("ticks", ticks))
reload = sys.argv[4:] == ["reload"]
djng.serve(app, "127.0.0.1", int(sys.argv[1]), server=sys.argv[2], reload=reload)
"""


def read_stream_incrementally(port: int, release) -> tuple[bytes, bytes]:
    """Read /ticks: the first event must arrive before the test releases the second."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/ticks")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        # Raw lines (chunk sizes included when the server chunks the body).
        first = b""
        while b"data: first" not in first:
            first += response.fp.readline()
        release.write_text("go")
        rest = b""
        while b"data: second" not in rest:
            line = response.fp.readline()
            assert line, "the stream ended before the second event"
            rest += line
        return first, rest
    finally:
        connection.close()


@pytest.mark.parametrize("server", ["werkzeug", "uvicorn"])
def test_serve_runs_async_views_and_streams_incrementally(spawn, tmp_path, server):
    if server == "uvicorn":
        pytest.importorskip("uvicorn", reason="pip install 'djng[uvicorn]'")
    port = free_port()
    release = tmp_path / "release"
    proc = spawn([sys.executable, "-c", ASYNC_SCRIPT, str(port), server, str(release)])
    status, _, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)
    assert (status, body) == (200, f"async hello from {server}".encode())
    assert http_get(f"http://127.0.0.1:{port}/sync")[2] == b"sync hello"
    first, rest = read_stream_incrementally(port, release)
    assert b"data: second" in rest
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_serve_with_uvicorn_reloads_when_the_code_changes(spawn, tmp_path):
    pytest.importorskip("uvicorn", reason="pip install 'djng[uvicorn]'")
    port = free_port()
    script = tmp_path / "app.py"
    script.write_text(ASYNC_SCRIPT)
    proc = spawn([sys.executable, str(script), str(port), "uvicorn", "unused", "reload"])
    assert wait_for_http(f"http://127.0.0.1:{port}/", proc)[2] == b"async hello from uvicorn"
    script.write_text(ASYNC_SCRIPT.replace('"async hello from "', '"reloaded, from "'))
    deadline = time.monotonic() + TIMEOUT
    body = b""
    while time.monotonic() < deadline and body != b"reloaded, from uvicorn":
        try:
            body = http_get(f"http://127.0.0.1:{port}/", timeout=2)[2]
        except OSError:
            pass
        time.sleep(0.1)
    assert body == b"reloaded, from uvicorn"


def test_serve_names_the_servers_it_knows():
    with pytest.raises(ValueError, match="werkzeug, uvicorn"):
        djng.serve(lambda request: "x", server="tornado")
