"""djng.clients against a real callee: uvicorn serving djng.asgi() over loopback.

One callee process (``uvicorn --workers 1``) serves the whole module; each test
tags its requests so that the hits it counts are its own. The caller is this
process: direct calls inside ``with djng.clients.use({...}):``, and djng views
(sync and async) driven by ``djng.testing.Client`` and ``AsyncClient``. What is
checked is what happens when the callee fails: down, slow, flaky, lying about its
JSON, answering 4xx, under 200 concurrent calls; and that the URL's credentials
never show. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from conftest import free_port, require, start, stop, wait_for_file, wait_for_http
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404

import djng
from djng.testing import AsyncClient, Client

#: Seconds any single direct request of these tests to the callee may take.
NET_TIMEOUT = 10

#: The callee: one route per failure mode.
CALLEE = '''
import asyncio
import io
import json
import os
import time
from pathlib import Path

from django.http import HttpResponse

import djng

FOLDER = Path(__file__).resolve().parent

#: tag -> how many requests the callee received with it.
HITS = {}


def mark(name):
    (FOLDER / name).touch()


def hit(request):
    tag = request.GET["tag"]
    HITS[tag] = HITS.get(tag, 0) + 1
    return HITS[tag]


def hits(request):
    return {"hits": HITS.get(request.GET["tag"], 0)}


def flaky(request):
    """The first request of a tag answers ``code`` (503 unless given), the next ones 200."""
    n = hit(request)
    if n == 1:
        code = int(request.GET.get("code", "503"))
        return HttpResponse(b"try again", status=code, content_type="text/plain")
    return {"ok": True, "hits": n, "method": request.method}


async def slow(request):
    tag = request.GET["tag"]
    mark(f"started-{tag}")
    try:
        await asyncio.sleep(3)
    except asyncio.CancelledError:
        mark(f"cancelled-{tag}")
        raise
    finally:
        mark(f"finally-{tag}")
    mark(f"completed-{tag}")
    return {"slow": True}


async def sleepy(request):
    await asyncio.sleep(0.2)
    return {"n": int(request.GET["n"])}


async def trickle(request):
    """A body that arrives one byte every 0.2 s, for 3 s: each read is quick, the whole slow."""
    tag = request.GET["tag"]

    async def chunks():
        try:
            for _ in range(15):
                yield b" "
                await asyncio.sleep(0.2)
            yield b"{}"
            mark(f"trickled-{tag}")
        finally:
            mark(f"trickle-finally-{tag}")

    return djng.StreamingResponse(chunks(), content_type="application/json")


def always_503(request):
    hit(request)
    return HttpResponse(b"busy", status=503, content_type="text/plain")


def bad_json(request):
    return HttpResponse(b"{not json", content_type="application/json")


def problem(request, code):
    body = {"type": "about:blank", "title": "Remote trouble", "status": code,
            "detail": f"remote-detail-{code}"}
    return HttpResponse(json.dumps(body).encode(), status=code,
                        content_type="application/problem+json")


def echo(request):
    return {"method": request.method, "path": request.path, "query": request.GET.dict(),
            "body": request.body.decode()}


def text(request):
    return HttpResponse(b"plain words", content_type="text/plain; charset=utf-8")


def empty(request):
    return HttpResponse(status=204)


async def fast(request):
    return {"fast": True}


def cookies(request):
    response = HttpResponse(b"two cookies", content_type="text/plain")
    response.set_cookie("first", "1", max_age=60, httponly=True)
    response.set_cookie("second", "2", path="/api", samesite="Strict")
    return response


def upload(request):
    import hashlib

    received = request.FILES["file"].read()
    return {"size": len(received), "sha256": hashlib.sha256(received).hexdigest(),
            "chunked": "HTTP_TRANSFER_ENCODING" in request.META}


def held(request):
    """Sends a first chunk, then the second once the test has seen the first (or gives up)."""
    tag = request.GET["tag"]

    def chunks():
        yield b"first;"
        for _ in range(100):
            if (FOLDER / f"go-{tag}").exists():
                yield b"second"
                return
            time.sleep(0.05)
        yield b"gave-up"

    return djng.StreamingResponse(chunks(), content_type="text/plain")


async def quiet(request):
    """A stream with a pause longer than the callers' read timeout between its chunks."""

    async def chunks():
        yield b"before;"
        await asyncio.sleep(1.0)
        yield b"after"

    return djng.StreamingResponse(chunks(), content_type="text/event-stream")


def gzipped(request):
    import gzip

    response = HttpResponse(gzip.compress(b"squeezed " * 100), content_type="text/plain")
    response["Content-Encoding"] = "gzip"
    return response


application = djng.asgi(djng.Router(
    djng.path("flaky", djng.csrf_exempt(flaky)),
    djng.path("hits", hits),
    djng.path("slow", slow),
    djng.path("sleepy", sleepy),
    djng.path("trickle", trickle),
    djng.path("always-503", always_503),
    djng.path("bad-json", bad_json),
    djng.path("problem/<int:code>", problem),
    djng.path("echo", djng.csrf_exempt(echo)),
    djng.path("text", text),
    djng.path("empty", empty),
    djng.path("fast", fast),
    djng.path("cookies", cookies),
    djng.path("upload", djng.csrf_exempt(upload)),
    djng.path("held", held),
    djng.path("gzipped", gzipped),
    djng.path("quiet", quiet),
))
'''


# -- the callee ---------------------------------------------------------------------------


class Callee:
    def __init__(self, proc, port: int, folder: Path) -> None:
        self.proc = proc
        self.port = port
        self.folder = folder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, tag: str) -> int:
        import httpx

        response = httpx.get(f"{self.url}/hits", params={"tag": tag}, timeout=NET_TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()["hits"]


@pytest.fixture(scope="module")
def callee(tmp_path_factory):
    require("uvicorn", "httpx")
    folder = tmp_path_factory.mktemp("callee")
    (folder / "app.py").write_text(textwrap.dedent(CALLEE))
    port = free_port()
    proc = start(
        [
            sys.executable, "-m", "uvicorn", "app:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--app-dir", str(folder), "--no-access-log", "--timeout-graceful-shutdown", "1",
        ],
        cwd=folder,
    )
    try:
        status, _, body = wait_for_http(f"http://127.0.0.1:{port}/fast", proc)
        assert status == 200, body
        yield Callee(proc, port, folder)
    finally:
        stop(proc)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex


def closed_url() -> str:
    """A loopback URL nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


# -- the caller's views -------------------------------------------------------------------


def call(request):
    """GET ``path`` from service ``service`` (users by default), ``timeout`` if given."""
    timeout = request.GET.get("timeout")
    client = djng.clients[request.GET.get("service", "users")]
    return {"got": client.get(request.GET["path"],
                              timeout=float(timeout) if timeout else None)}


async def acall(request):
    timeout = request.GET.get("timeout")
    client = djng.clients[request.GET.get("service", "users")]
    return {"got": await client.aget(request.GET["path"],
                                     timeout=float(timeout) if timeout else None)}


async def fanout(request):
    """``count`` concurrent calls of the callee's /sleepy, gathered."""
    count = int(request.GET["count"])
    users = djng.clients.users
    started = time.monotonic()
    bodies = await asyncio.gather(*(users.aget("/sleepy", params={"n": n}) for n in range(count)))
    return {"ns": [body["n"] for body in bodies], "elapsed": time.monotonic() - started}


def pushed(request):
    """A view that pushes the service for its own request only."""
    djng.clients.push({"users": request.GET["url"]})
    return {"got": djng.clients.users.get("/echo", params={"via": "push"})}


CALLER = djng.Router(
    djng.path("call", call),
    djng.path("acall", acall),
    djng.path("fanout", fanout),
    djng.path("pushed", pushed),
)

JSON = {"Accept": "application/json"}


def problem_of(response) -> dict:
    assert response.headers["Content-Type"].startswith("application/problem+json"), (
        response.headers, response.text)
    return response.json()


def elapsed_of(func, *args, **kwargs):
    started = time.monotonic()
    try:
        result = func(*args, **kwargs)
    except Exception as exc:  # the caller checks which
        result = exc
    return result, time.monotonic() - started


# -- sanity: the happy path the faults are measured against ---------------------------------


def test_happy_path_decodes_json_text_and_empty(callee):
    with djng.clients.use({"users": callee.url}):
        users = djng.clients["users"]
        assert djng.clients.users.get("/echo", params={"a": "1"})["query"] == {"a": "1"}
        assert json.loads(users.post("/echo", json={"x": 1})["body"]) == {"x": 1}
        assert users.get("/text") == "plain words"
        assert users.get("/empty") is None
        reply = users.request("GET", "/echo")
        assert reply.status == 200
        assert reply.data["method"] == "GET"
        assert reply.headers["content-type"].startswith("application/json")


# -- 1. the callee is down ----------------------------------------------------------------


def test_callee_down_raises_remote_error_quickly():
    url = closed_url()
    with djng.clients.use({"users": djng.clients.HTTP(url, timeout=5.0, retries=2)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/things/7")
    assert isinstance(result, djng.clients.RemoteError), repr(result)
    assert not isinstance(result, djng.clients.RemoteTimeout), repr(result)
    assert elapsed < 4, f"a refused connection took {elapsed:.2f}s (timeout 5 s)"
    message = str(result)
    assert "users" in message and "GET" in message and "/things/7" in message, message


def test_callee_down_async_raises_remote_error_quickly():
    url = closed_url()

    async def main():
        started = time.monotonic()
        with pytest.raises(djng.clients.RemoteError) as caught:
            await asyncio.wait_for(djng.clients.users.aget("/things/8"), 10)
        return caught.value, time.monotonic() - started

    with djng.clients.use({"users": djng.clients.HTTP(url, timeout=5.0, retries=2)}):
        error, elapsed = asyncio.run(main())
    assert elapsed < 4, f"a refused connection took {elapsed:.2f}s (timeout 5 s)"
    assert "users" in str(error) and "/things/8" in str(error), str(error)


@pytest.mark.parametrize("path", ["/call", "/acall"])
def test_view_calling_a_down_callee_answers_502_without_its_address(path):
    url = closed_url()
    port = url.rpartition(":")[2]
    app = djng.reconfigure(CALLER, clients={"users": djng.clients.HTTP(url, timeout=5.0)})
    client = Client(app, raise_exceptions=False)
    started = time.monotonic()
    response = client.get(path, {"path": "/things/9"}, headers=JSON)
    assert time.monotonic() - started < 4
    assert response.status_code == 502, response.text
    assert problem_of(response)["status"] == 502
    assert port not in response.text and "127.0.0.1" not in response.text, response.text
    # Without Accept: JSON, the page does not show the address either.
    html = client.get(path, {"path": "/things/9"})
    assert html.status_code == 502
    assert port not in html.text and "127.0.0.1" not in html.text, html.text


def test_async_view_under_asgi_calling_a_down_callee_answers_502():
    url = closed_url()
    app = djng.reconfigure(CALLER, clients={"users": url})

    async def main():
        async with AsyncClient(app, raise_exceptions=False) as client:
            return await client.get("/acall", {"path": "/x"}, headers=JSON)

    response = asyncio.run(main())
    assert response.status_code == 502, response.text
    assert problem_of(response)["status"] == 502
    assert url.rpartition(":")[2] not in response.text


# -- 2. the callee is slow ----------------------------------------------------------------


def test_slow_callee_times_out_and_its_view_is_cancelled(callee, tag):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, timeout=0.5)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/slow", params={"tag": tag})
    assert isinstance(result, djng.clients.RemoteTimeout), repr(result)
    assert isinstance(result, djng.clients.RemoteError)
    assert elapsed < 2.5, f"a 0.5 s timeout returned after {elapsed:.2f}s"
    assert "users" in str(result) and "/slow" in str(result), str(result)
    # The caller hung up: uvicorn tells djng.asgi, which cancels the async view.
    wait_for_file(callee.folder / f"cancelled-{tag}", timeout=5)
    assert (callee.folder / f"finally-{tag}").exists()
    assert not (callee.folder / f"completed-{tag}").exists()


def test_slow_callee_async_call_times_out(callee, tag):
    async def main():
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                djng.clients.users.aget("/slow", params={"tag": tag}, timeout=0.5), 10)
        except Exception as exc:  # checked below
            return exc, time.monotonic() - started
        return None, time.monotonic() - started

    with djng.clients.use({"users": callee.url}):
        result, elapsed = asyncio.run(main())
    assert isinstance(result, djng.clients.RemoteTimeout), repr(result)
    assert elapsed < 2.5, f"a 0.5 s timeout returned after {elapsed:.2f}s"
    wait_for_file(callee.folder / f"cancelled-{tag}", timeout=5)


@pytest.mark.parametrize("path", ["/call", "/acall"])
def test_view_calling_a_slow_callee_answers_504(callee, tag, path):
    client = Client(CALLER, raise_exceptions=False)
    started = time.monotonic()
    with djng.clients.use({"users": callee.url}):
        response = client.get(path, {"path": f"/slow?tag={tag}", "timeout": "0.5"},
                              headers=JSON)
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert problem_of(response)["status"] == 504
    assert str(callee.port) not in response.text, response.text
    assert elapsed < 2.5, f"the view answered after {elapsed:.2f}s"
    wait_for_file(callee.folder / f"cancelled-{tag}", timeout=5)


def test_a_trickling_body_is_bounded_by_the_calls_deadline(callee, tag):
    """httpx's timeout= bounds each read; the call's deadline bounds the whole answer."""
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, timeout=0.5)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/trickle", params={"tag": tag})
    assert isinstance(result, djng.clients.RemoteTimeout), f"{result!r} after {elapsed:.2f}s"
    assert elapsed < 2.5, f"a 0.5 s deadline returned after {elapsed:.2f}s"


def test_a_trickling_body_is_bounded_by_the_async_calls_deadline(callee, tag):
    async def main():
        return await _raised(djng.clients.users.aget("/trickle", params={"tag": tag},
                                                     timeout=0.5))

    with djng.clients.use({"users": callee.url}):
        started = time.monotonic()
        result = asyncio.run(main())
        elapsed = time.monotonic() - started
    assert isinstance(result, djng.clients.RemoteTimeout), f"{result!r} after {elapsed:.2f}s"
    assert elapsed < 2.5, f"a 0.5 s deadline returned after {elapsed:.2f}s"


# -- 3. retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_call_that_fails_once_with_503_succeeds_on_the_retry(callee, tag, method):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, timeout=5.0, retries=2)}):
        call = getattr(djng.clients.users, method.lower())
        body = call("/flaky", params={"tag": tag})
    assert body == {"ok": True, "hits": 2, "method": method}
    assert callee.hits(tag) == 2


@pytest.mark.parametrize("code", [502, 504])
def test_get_is_retried_after_502_and_504_too(callee, tag, code):
    with djng.clients.use({"users": callee.url}):
        body = djng.clients.users.get("/flaky", params={"tag": tag, "code": code})
    assert body["hits"] == 2
    assert callee.hits(tag) == 2


def test_async_get_that_fails_once_succeeds_on_the_retry(callee, tag):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, retries=2)}):
        body = asyncio.run(asyncio.wait_for(
            djng.clients.users.aget("/flaky", params={"tag": tag}), 10))
    assert body["hits"] == 2
    assert callee.hits(tag) == 2


@pytest.mark.parametrize("method", ["post", "patch", "apost"])
def test_non_idempotent_call_is_never_retried(callee, tag, method):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, timeout=5.0, retries=2)}):
        call = getattr(djng.clients.users, method)
        with pytest.raises(djng.clients.RemoteError) as caught:
            if method.startswith("a"):
                asyncio.run(asyncio.wait_for(call("/flaky", json={}, params={"tag": tag}), 10))
            else:
                call("/flaky", json={}, params={"tag": tag})
    assert callee.hits(tag) == 1
    verb = method.removeprefix("a").upper()
    assert verb in str(caught.value) and "/flaky" in str(caught.value), str(caught.value)


def test_get_answered_500_is_not_retried(callee, tag):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, retries=2)}):
        with pytest.raises(djng.clients.RemoteError):
            djng.clients.users.get("/flaky", params={"tag": tag, "code": 500})
    assert callee.hits(tag) == 1


def test_retries_of_a_refused_connection_stay_inside_the_deadline():
    url = closed_url()
    with djng.clients.use({"users": djng.clients.HTTP(url, timeout=1.0, retries=50)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/x")
    assert isinstance(result, djng.clients.RemoteError), repr(result)
    assert elapsed < 2, f"50 retries inside a 1 s deadline took {elapsed:.2f}s"


def test_retries_of_503_stay_inside_the_deadline(callee, tag):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, timeout=1.0, retries=50)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/always-503", params={"tag": tag})
    assert isinstance(result, djng.clients.RemoteError), repr(result)
    assert elapsed < 2, f"50 retries inside a 1 s deadline took {elapsed:.2f}s"
    assert callee.hits(tag) > 1  # it did retry


def test_retries_zero_means_one_attempt(callee, tag):
    with djng.clients.use({"users": djng.clients.HTTP(callee.url, retries=0)}):
        with pytest.raises(djng.clients.RemoteError):
            djng.clients.users.get("/flaky", params={"tag": tag})
    assert callee.hits(tag) == 1


# -- 4. a body that claims JSON but is not ---------------------------------------------------


def test_invalid_json_body_is_a_remote_error_naming_the_service(callee):
    with djng.clients.use({"inventory": callee.url}):
        with pytest.raises(djng.clients.RemoteError) as caught:
            djng.clients["inventory"].get("/bad-json")
        with pytest.raises(djng.clients.RemoteError) as acaught:
            asyncio.run(asyncio.wait_for(djng.clients.inventory.aget("/bad-json"), 10))
    for error in (caught.value, acaught.value):
        assert "inventory" in str(error), str(error)
        assert "/bad-json" in str(error), str(error)


def test_view_reading_invalid_json_answers_502(callee):
    client = Client(CALLER, raise_exceptions=False)
    with djng.clients.use({"users": callee.url}):
        response = client.get("/call", {"path": "/bad-json"}, headers=JSON)
    assert response.status_code == 502, response.text


# -- 5. the callee's 4xx become the caller's Django exceptions ---------------------------------

MAPPED = [
    (400, BadRequest, 400),
    (401, PermissionDenied, 403),
    (403, PermissionDenied, 403),
    (404, Http404, 404),
    (422, BadRequest, 400),
]


@pytest.mark.parametrize(("code", "exception", "answer"), MAPPED)
def test_remote_4xx_maps_to_django_exception(callee, code, exception, answer):
    with djng.clients.use({"users": callee.url}):
        with pytest.raises(exception) as caught:
            djng.clients.users.get(f"/problem/{code}")
        with pytest.raises(exception) as acaught:
            asyncio.run(asyncio.wait_for(djng.clients.users.aget(f"/problem/{code}"), 10))
    assert not isinstance(caught.value, djng.clients.RemoteError)
    if exception is BadRequest:
        for error in (caught.value, acaught.value):
            assert f"remote-detail-{code}" in str(error), str(error)


@pytest.mark.parametrize(("code", "exception", "answer"), MAPPED)
@pytest.mark.parametrize("path", ["/call", "/acall"])
def test_view_re_raising_a_remote_4xx_answers_the_matching_status(
    callee, code, exception, answer, path
):
    client = Client(CALLER, raise_exceptions=False)
    with djng.clients.use({"users": callee.url}):
        response = client.get(path, {"path": f"/problem/{code}"}, headers=JSON)
    assert response.status_code == answer, response.text
    assert problem_of(response)["status"] == answer
    assert str(callee.port) not in response.text, response.text
    if exception is BadRequest:
        assert f"remote-detail-{code}" in response.text, response.text


def test_other_4xx_is_a_remote_error(callee, tag):
    with djng.clients.use({"users": callee.url}):
        with pytest.raises(djng.clients.RemoteError) as caught:
            djng.clients.users.get("/problem/409")
    assert "users" in str(caught.value)


def test_request_returns_the_reply_of_a_failed_status_without_raising(callee):
    """``request()`` is the raw form: status, headers, data (documented for 2xx; a
    4xx either raises the same mapped exception or is returned as a Reply)."""
    with djng.clients.use({"users": callee.url}):
        try:
            reply = djng.clients.users.request("GET", "/problem/404")
        except Http404:
            return
    assert reply.status == 404
    assert reply.data["detail"] == "remote-detail-404"


# -- 6. concurrency -----------------------------------------------------------------------


def test_200_concurrent_agets_from_one_async_view(callee):
    count = 200
    app = djng.reconfigure(CALLER, clients={"users": djng.clients.HTTP(callee.url, timeout=10)})

    async def main():
        async with AsyncClient(app) as client:
            return await asyncio.wait_for(client.get("/fanout", {"count": count}), 20)

    started = time.monotonic()
    response = asyncio.run(main())
    total = time.monotonic() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ns"] == list(range(count))
    # Sequential would take 200 x 0.2 s = 40 s.
    assert total < 5, f"200 concurrent calls took {total:.2f}s"


def test_async_view_under_wsgi_calls_twice_in_two_event_loops(callee):
    """Each request of an async view under WSGI runs in a loop of its own: a pooled
    async connection must not be reused across loops."""
    client = Client(CALLER)
    with djng.clients.use({"users": callee.url}):
        for n in range(3):
            response = client.get("/acall", {"path": f"/echo?n={n}"})
            assert response.status_code == 200, response.text
            assert response.json()["got"]["query"] == {"n": str(n)}


def test_async_view_under_wsgi_does_not_leave_a_socket_per_request(callee):
    """Each such request runs in a loop of its own: the pooled httpx.AsyncClient of that
    loop is closed with it, not left to the garbage collector ('unclosed transport')."""
    import gc
    import os

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counts open file descriptors through /proc")
    client = Client(CALLER)
    with djng.clients.use({"users": callee.url}):
        client.get("/acall", {"path": "/echo"})
        gc.collect()
        enabled = gc.isenabled()
        gc.disable()  # what is closed must be closed by the code, not by a collection
        try:
            before = len(os.listdir("/proc/self/fd"))
            for _ in range(30):
                assert client.get("/acall", {"path": "/echo"}).status_code == 200
            grown = len(os.listdir("/proc/self/fd")) - before
        finally:
            if enabled:
                gc.enable()
            gc.collect()
    assert grown < 10, f"30 requests left {grown} more file descriptors open"


def test_push_inside_a_request_stays_in_that_request(callee, monkeypatch):
    monkeypatch.delenv("DJNG_SERVICE_USERS_URL", raising=False)
    client = Client(CALLER)
    djng.clients.configure({"users": closed_url()})
    response = client.get("/pushed", {"url": callee.url})
    assert response.status_code == 200, response.text
    assert response.json()["got"]["query"] == {"via": "push"}
    # The process default is untouched by the request's push.
    with pytest.raises(djng.clients.RemoteError):
        djng.clients.users.get("/echo")


# -- 7. the environment -------------------------------------------------------------------


def test_environment_url_for_a_service_not_configured(callee, monkeypatch):
    name = f"env{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"DJNG_SERVICE_{name.upper()}_URL", callee.url)
    body = djng.clients[name].get("/echo", params={"from": "env"})
    assert body["query"] == {"from": "env"}
    assert asyncio.run(asyncio.wait_for(djng.clients[name].aget("/echo"), 10))["method"] == "GET"
    # A configured URL wins over the environment.
    with djng.clients.use({name: closed_url()}):
        with pytest.raises(djng.clients.RemoteError):
            djng.clients[name].get("/echo")
    # And the environment is the default again afterwards.
    assert djng.clients[name].get("/echo")["method"] == "GET"


def test_environment_url_through_configure_default(callee, monkeypatch):
    """A process default configured for other services still leaves this one to the env."""
    monkeypatch.setenv("DJNG_SERVICE_USERS_URL", callee.url)
    djng.clients.configure({"billing": closed_url()})
    assert djng.clients.users.get("/echo")["method"] == "GET"


def test_unknown_service_without_environment_fails_clearly(monkeypatch):
    name = f"nobody{uuid.uuid4().hex[:8]}"
    monkeypatch.delenv(f"DJNG_SERVICE_{name.upper()}_URL", raising=False)
    with pytest.raises(Exception) as caught:
        djng.clients[name].get("/x")
    assert name in str(caught.value) or name.upper() in str(caught.value), str(caught.value)


# -- 8. credentials never show --------------------------------------------------------------


def test_credentials_in_the_url_never_appear_in_the_error(caplog):
    port = free_port()
    url = f"http://user:secret@127.0.0.1:{port}"
    with djng.clients.use({"users": djng.clients.HTTP(url, timeout=5.0, retries=1)}):
        result, elapsed = elapsed_of(djng.clients.users.get, "/private")
        aresult = asyncio.run(_raised(djng.clients.users.aget("/private")))
    assert elapsed < 4
    for error in (result, aresult):
        assert isinstance(error, djng.clients.RemoteError), repr(error)
        seen = [str(error), repr(error), *map(str, error.args)]
        cause = error.__cause__ or error.__context__
        while cause is not None:
            seen += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__
        for text in seen:
            assert "secret" not in text, text
        assert "users" in str(error) and "/private" in str(error), str(error)
    # Nor in a view's 502, nor in what was reported for it.
    app = djng.reconfigure(CALLER, clients={"users": url})
    with caplog.at_level(logging.DEBUG):
        response = Client(app, raise_exceptions=False).get(
            "/call", {"path": "/private"}, headers=JSON)
    assert response.status_code == 502, response.text
    assert "secret" not in response.text
    assert "secret" not in caplog.text, caplog.text


def test_credentials_in_the_url_are_not_in_the_clients_repr():
    url = f"http://user:secret@127.0.0.1:{free_port()}"
    transport = djng.clients.HTTP(url)
    assert "secret" not in repr(transport)
    with djng.clients.use({"users": transport}):
        assert "secret" not in repr(djng.clients.users)
        assert "secret" not in repr(djng.clients["users"])


async def _raised(awaitable):
    try:
        await asyncio.wait_for(awaitable, 10)
    except Exception as exc:
        return exc
    return None


# -- djng.remote over HTTP ------------------------------------------------------------------


@pytest.mark.parametrize("adapter_client", ["wsgi", "asgi"])
def test_remote_forwards_to_a_real_server_and_passes_its_answer_back(callee, adapter_client):
    site = djng.Router(djng.mount("api", djng.remote("users")))
    with djng.clients.use({"users": callee.url}):
        if adapter_client == "wsgi":
            client = Client(site, raise_exceptions=False)
            echoed = client.post("/api/echo?a=1", data=b"payload", content_type="text/plain")
            missing = client.get("/api/problem/404")
            text = client.get("/api/text")
        else:

            async def exchange():
                client = AsyncClient(site, raise_exceptions=False)
                return (
                    await client.post("/api/echo?a=1", data=b"payload", content_type="text/plain"),
                    await client.get("/api/problem/404"),
                    await client.get("/api/text"),
                )

            echoed, missing, text = asyncio.run(exchange())
    assert echoed.status_code == 200
    assert echoed.json() == {"method": "POST", "path": "/echo", "query": {"a": "1"},
                             "body": "payload"}
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    assert missing.json()["detail"] == "remote-detail-404"
    assert (text["Content-Type"], text.text) == ("text/plain; charset=utf-8", "plain words")
    with djng.clients.use({"users": djng.clients.HTTP(closed_url(), retries=0)}):
        assert Client(site, raise_exceptions=False).get("/api/echo").status_code == 502


def exchange_both(site, adapter, *requests):
    """``requests`` (client method name, args, kwargs) sent through ``adapter``'s client."""
    if adapter == "wsgi":
        client = Client(site, raise_exceptions=False)
        return [getattr(client, verb)(*args, **kwargs) for verb, args, kwargs in requests]

    async def exchange():
        client = AsyncClient(site, raise_exceptions=False)
        return [await getattr(client, verb)(*args, **kwargs) for verb, args, kwargs in requests]

    return asyncio.run(exchange())


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_remote_passes_every_cookie_and_the_encoded_body_back(callee, adapter):
    import gzip

    site = djng.Router(djng.mount("api", djng.remote("users")))
    with djng.clients.use({"users": callee.url}):
        cookies, squeezed, plain = exchange_both(
            site, adapter,
            ("get", ("/api/cookies",), {}),
            ("get", ("/api/gzipped",), {"headers": {"Accept-Encoding": "gzip"}}),
            ("get", ("/api/text",), {}),
        )
    assert cookies.text == "two cookies"
    assert (cookies.cookies["first"].value, cookies.cookies["second"].value) == ("1", "2")
    assert cookies.cookies["first"]["max-age"] == "60" and cookies.cookies["first"]["httponly"]
    assert (cookies.cookies["second"]["path"], cookies.cookies["second"]["samesite"]) == (
        "/api", "Strict")
    # Passed on as the service sent it: still compressed, its length stated.
    assert squeezed["Content-Encoding"] == "gzip"
    assert int(squeezed["Content-Length"]) == len(squeezed.content)
    assert gzip.decompress(squeezed.content) == b"squeezed " * 100
    assert "Content-Encoding" not in plain  # the client asked for none: none is used


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_remote_streams_a_large_upload_on(callee, adapter):
    """5 MB, over Django's 2.5 MB in-memory limit: sent on chunked as it is read."""
    import hashlib

    data = os.urandom(5 * 1024 * 1024)
    site = djng.Router(djng.mount("api", djng.remote("users")))
    with djng.clients.use({"users": callee.url}):
        [answer] = exchange_both(site, adapter, (
            "post", ("/api/upload",), {"data": {"file": (io.BytesIO(data), "big.bin")}}))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "chunked": True}


def test_remote_streams_the_answer_under_wsgi(callee, tag):
    """The first chunk reaches the client while the service still holds the second."""
    from werkzeug.test import EnvironBuilder

    site = djng.wsgi(djng.Router(djng.mount("api", djng.remote("users"))))
    environ = EnvironBuilder(path="/api/held", query_string={"tag": tag}).get_environ()
    with djng.clients.use({"users": callee.url}):
        body = site(environ, lambda status, headers, exc_info=None: None)
        try:
            chunks = iter(body)
            first = next(chunks)
            (callee.folder / f"go-{tag}").touch()
            rest = b"".join(chunks)
        finally:
            body.close()
    assert (first, rest) == (b"first;", b"second")


def test_remote_streams_the_answer_under_asgi(callee, tag):
    site = djng.asgi(djng.Router(djng.mount("api", djng.remote("users"))))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": "/api/held", "raw_path": b"/api/held",
             "query_string": f"tag={tag}".encode(), "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1),
             "server": ("testserver", 80)}

    async def exchange():
        bodies: list[bytes] = []
        first = asyncio.Event()
        done = asyncio.Event()

        async def receive():
            if not bodies:
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.body" and message.get("body"):
                bodies.append(message["body"])
                first.set()

        with djng.clients.use({"users": callee.url}):
            task = asyncio.create_task(site(scope, receive, send))
            await asyncio.wait_for(first.wait(), NET_TIMEOUT)
            seen_first = b"".join(bodies)
            (callee.folder / f"go-{tag}").touch()
            await asyncio.wait_for(task, NET_TIMEOUT)
            done.set()
        return seen_first, b"".join(bodies)

    seen_first, whole = asyncio.run(exchange())
    assert (seen_first, whole) == (b"first;", b"first;second")


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_remote_waits_out_a_quiet_stream_and_a_head_gives_its_connection_back(callee, adapter):
    """Only the head is bounded by the deadline: a stream quiet for longer than the
    timeout (server-sent events between heartbeats) goes on; a HEAD, whose body is
    never read, still returns its connection to the pool."""
    transport = djng.clients.HTTP(callee.url, timeout=0.5)
    site = djng.Router(djng.mount("api", djng.remote("users")))
    with djng.clients.use({"users": transport}):
        if adapter == "wsgi":
            client = Client(site, raise_exceptions=False)
            streamed, head = client.get("/api/quiet"), client.head("/api/text")
            busy = 0
        else:

            async def exchange():
                client = AsyncClient(site, raise_exceptions=False)
                answers = await client.get("/api/quiet"), await client.head("/api/text")
                lanes = transport._lanes.get(asyncio.get_running_loop(), [])
                return (*answers, sum(lane.busy for lane in lanes))

            streamed, head, busy = asyncio.run(exchange())
    assert streamed.status_code == 200 and streamed.content == b"before;after"
    assert head.status_code == 200 and head.content == b""
    assert busy == 0
