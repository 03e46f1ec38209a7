"""djng.clients in-process: configuration, fresh contexts, decoding and errors mapped
to Django's (real servers and faults: tests/production/test_clients_faults.py)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import free_port
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404

import djng
from djng.testing import AsyncClient, Client


def problem(status, detail):
    return {"type": "about:blank", "status": status, "detail": detail}, status


def forbidden(request):
    raise PermissionDenied("members only")


users = djng.Router(
    djng.path("users/<int:id>",
              lambda request, id: {"id": id, "cache": repr(djng.cache.current())}),
    djng.path("echo", lambda request: {"method": request.method, "body": request.body.decode(),
                                       "q": request.GET.get("q"),
                                       "type": request.content_type}, name="echo"),
    djng.path("text", lambda request: "plain text"),
    djng.path("empty", lambda request: ("", 204)),
    djng.path("forbidden", forbidden),
    djng.path("invalid", lambda request: problem(422, "name: required")),
    djng.path("broken", lambda request: 1 / 0),
    djng.path("not-json", lambda request: djng.Response(b"{not json",
                                                        content_type="application/json")),
)


@pytest.fixture
def in_process():
    with djng.clients.use({"users": djng.clients.InProcess(users)}):
        yield djng.clients["users"]


def test_calls_return_the_decoded_body(in_process):
    assert in_process.get("/users/7")["id"] == 7
    echoed = in_process.post("/echo", json={"a": 1}, params={"q": "x"})
    assert echoed == {"method": "POST", "body": '{"a":1}', "q": "x", "type": "application/json"}
    assert in_process.put("/echo")["method"] == "PUT"
    assert in_process.get("/text") == "plain text"
    assert in_process.get("/empty") is None
    reply = in_process.request("GET", "/users/1")
    assert (reply.status, reply.data["id"]) == (200, 1)
    assert djng.clients.users.get("/users/2")["id"] == 2  # attribute access too


def test_remote_errors_become_djangos(in_process):
    with pytest.raises(Http404, match=r"'users' \(GET /nope\) answered 404"):
        in_process.get("/nope")
    with pytest.raises(PermissionDenied, match="members only"):
        in_process.get("/forbidden")
    with pytest.raises(BadRequest, match="name: required"):
        in_process.post("/invalid", json={})
    with pytest.raises(djng.clients.RemoteError, match=r"'users' \(GET /broken\) answered 500"):
        in_process.get("/broken")
    with pytest.raises(djng.clients.RemoteError, match="invalid JSON"):
        in_process.get("/not-json")


def test_a_failed_call_answers_502_without_naming_the_service(in_process):
    app = djng.Router(djng.path("", lambda request: djng.clients.users.get("/broken")))
    response = Client(app, raise_exceptions=False).get("/", headers={"Accept": "application/json"})
    assert response.status_code == 502
    assert "users" not in response.text and "broken" not in response.text


def test_the_callee_starts_from_a_fresh_context():
    """What the caller pushed (here a cache) never reaches the callee, sync or async."""

    def sync_caller(request):
        djng.cache.push(djng.cache.Dummy())
        return djng.clients.users.get("/users/1")

    async def async_caller(request):
        djng.cache.push(djng.cache.Dummy())
        return await djng.clients.users.aget("/users/2")

    app = djng.Router(djng.path("s", sync_caller), djng.path("a", async_caller))
    with djng.clients.use({"users": djng.clients.InProcess(users)}):
        for path in ("/s", "/a"):
            assert "Dummy" not in Client(app).get(path).json()["cache"]

        async def main():
            return (await AsyncClient(app).get("/a")).json()

        assert "Dummy" not in asyncio.run(main())["cache"]


def test_a_view_can_push_its_own_clients():
    def view(request):
        djng.clients.push({"users": djng.clients.InProcess(users)})
        return djng.clients.users.get("/users/9")

    assert Client(djng.Router(djng.path("", view))).get("/").json()["id"] == 9
    with pytest.raises(LookupError, match="DJNG_SERVICE_USERS_URL"):
        djng.clients["users"]  # nothing configured outside that request


def test_reconfigure_gives_an_app_its_clients():
    app = djng.reconfigure(
        djng.Router(djng.path("", lambda request: djng.clients.users.get("/users/4"))),
        clients={"users": djng.clients.InProcess(users)},
    )
    assert Client(app).get("/").json()["id"] == 4


def test_the_environment_names_a_service(monkeypatch):
    monkeypatch.setenv("DJNG_SERVICE_BILLING_URL", "http://billing.internal:8000")
    transport = djng.clients["billing"].transport
    assert isinstance(transport, djng.clients.HTTP)
    assert transport.url == "http://billing.internal:8000"


def test_bad_configuration_says_what_to_give():
    with pytest.raises(TypeError, match="a URL, djng.clients.HTTP"):
        djng.clients.configure({"users": 42})
    with pytest.raises(ValueError, match="http"):
        djng.clients.HTTP("ftp://example.com")
    with pytest.raises(ValueError, match="timeout"):
        djng.clients.HTTP("http://example.com", timeout=0)
    assert "secret" not in repr(djng.clients.HTTP("http://u:secret@example.com"))


# -- djng.remote: a mounted app that is another service ---------------------------------------


def test_remote_replaces_a_mounted_app_by_changing_one_line():
    def created(request):
        return {"got": request.body.decode(), "q": request.GET.get("q"),
                "agent": request.headers.get("X-Agent")}, 201

    accounts = djng.Router(
        djng.path("users/<int:id>", lambda request, id: {"id": id}),
        djng.path("users", created, methods=["POST"]),
        djng.path("teapot", lambda request: ("short and stout", 418, {"X-Pot": "1"})),
    )
    local = djng.Router(djng.mount("api/accounts", accounts))
    split = djng.Router(djng.mount("api/accounts", djng.remote("accounts")))
    with djng.clients.use({"accounts": djng.clients.InProcess(accounts)}):
        for site in (local, split):
            client = Client(site)
            assert client.get("/api/accounts/users/5").json() == {"id": 5}
            answer = client.post("/api/accounts/users?q=1", data=b"hi",
                                 content_type="text/plain", headers={"X-Agent": "t"})
            assert answer.status_code == 201
            assert answer.json() == {"got": "hi", "q": "1", "agent": "t"}
            teapot = client.get("/api/accounts/teapot")
            assert (teapot.status_code, teapot["X-Pot"]) == (418, "1")
            assert teapot.text == "short and stout"
            assert client.get("/api/accounts/nope").status_code == 404

        async def main():
            return (await AsyncClient(split).get("/api/accounts/users/6")).json()

        assert asyncio.run(main()) == {"id": 6}


def test_remote_that_cannot_be_reached_answers_502():
    site = djng.Router(djng.mount("api", djng.remote("down")))
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with djng.clients.use({"down": djng.clients.HTTP(closed, retries=0)}):
        response = Client(site, raise_exceptions=False).get("/api/x")
    assert response.status_code == 502


# -- propagation: the request id and the trace go with every call ----------------------------

TRACE = "0af7651916cd43dd8448eb211c80319c"


def seen(request):
    return {"id": request.id, "header": request.headers.get("X-Request-ID"),
            "traceparent": request.headers.get("traceparent")}


def test_request_id_comes_from_the_edge_or_is_made_there():
    app = djng.Router(djng.path("", seen))
    assert Client(app).get("/", headers={"X-Request-ID": "abc-123"}).json()["id"] == "abc-123"
    made = Client(app).get("/").json()["id"]
    assert len(made) == 32 and made != Client(app).get("/").json()["id"]
    hostile = Client(app).get("/", headers={"X-Request-ID": "x y <forged>"}).json()["id"]
    assert len(hostile) == 32 and "forged" not in hostile


def test_calls_carry_the_request_id_and_the_trace():
    callee = djng.Router(djng.path("seen", seen))

    def caller(request):
        return {"mine": request.id, "theirs": djng.clients.callee.get("/seen")}

    async def acaller(request):
        return {"mine": request.id, "theirs": await djng.clients.callee.aget("/seen")}

    app = djng.Router(djng.path("s", caller), djng.path("a", acaller),
                      djng.mount("r", djng.remote("callee")))
    incoming = {"X-Request-ID": "edge-1", "traceparent": f"00-{TRACE}-b7ad6b7169203331-01"}
    with djng.clients.use({"callee": djng.clients.InProcess(callee)}):
        for path in ("/s", "/a"):
            answer = Client(app).get(path, headers=incoming).json()
            assert answer["mine"] == answer["theirs"]["id"] == "edge-1"
            trace = answer["theirs"]["traceparent"].split("-")
            assert trace[1] == TRACE and trace[2] != "b7ad6b7169203331"  # a new parent id
        forwarded = Client(app).get("/r/seen", headers=incoming).json()
        assert forwarded["id"] == "edge-1" and forwarded["traceparent"].split("-")[1] == TRACE
        fresh = Client(app).get("/s").json()
        assert fresh["theirs"]["id"] == fresh["mine"]  # made at the edge, then sent on


def test_log_records_carry_the_request_id(caplog):
    import logging

    def view(request):
        logging.getLogger("app").warning("inside")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="app"):
        Client(djng.Router(djng.path("", view))).get("/", headers={"X-Request-ID": "log-7"})
        logging.getLogger("app").warning("outside")
    inside, outside = caplog.records
    assert (inside.request_id, outside.request_id) == ("log-7", "-")


# -- headers an app propagates, and the deadline ----------------------------------------------


def told(request):
    return {"authorization": request.headers.get("Authorization"),
            "timeout": request.headers.get("X-Request-Timeout")}


async def slow_told(request):
    await asyncio.sleep(2)
    return {"late": True}


callee = djng.Router(djng.path("told", told), djng.path("slow", slow_told))


def ask(request):
    return djng.clients.callee.get("/told")


async def aask(request):
    return await djng.clients.callee.aget(request.GET.get("path", "/told"))


asker = djng.Router(djng.path("ask", ask), djng.path("aask", aask))


@pytest.mark.parametrize("path", ["/ask", "/aask"])
def test_named_headers_go_on_with_every_call(path):
    token = {"Authorization": "Bearer abc"}
    with djng.clients.use({"callee": djng.clients.InProcess(callee, propagate=["Authorization"])}):
        assert Client(asker).get(path, headers=token).json()["authorization"] == "Bearer abc"
    with djng.clients.use({"callee": djng.clients.InProcess(callee)}):
        assert Client(asker).get(path, headers=token).json()["authorization"] is None


def test_propagate_takes_header_names():
    with pytest.raises(ValueError, match="header names"):
        djng.clients.HTTP("http://users", propagate=["Authorization: x"])
    assert djng.clients.HTTP("http://users", propagate="Authorization").propagate == (
        "Authorization",)


@pytest.mark.parametrize("path", ["/ask", "/aask"])
def test_the_time_left_goes_to_the_callee(path):
    with djng.clients.use({"callee": djng.clients.InProcess(callee, timeout=3)}):
        plain = float(Client(asker).get(path).json()["timeout"])
        hurried = Client(asker).get(path, headers={"X-Request-Timeout": "0.5"}).json()
        ignored = Client(asker).get(path, headers={"X-Request-Timeout": "soon"}).json()
    assert 2.5 < plain <= 3
    assert 0 < float(hurried["timeout"]) <= 0.5
    assert 2.5 < float(ignored["timeout"]) <= 3


def test_a_request_with_little_time_left_ends_its_calls_by_then():
    import time

    with djng.clients.use({"callee": djng.clients.InProcess(callee)}):
        started = time.monotonic()
        response = Client(asker, raise_exceptions=False).get(
            "/aask", {"path": "/slow"}, headers={"X-Request-Timeout": "0.2", **JSON})
        elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert elapsed < 1.5
    with djng.clients.use({"callee": djng.clients.InProcess(callee)}):
        expired = Client(asker, raise_exceptions=False).get(
            "/ask", headers={"X-Request-Timeout": "0", **JSON})
    assert expired.status_code == 504, expired.text


def test_a_sync_in_process_answer_after_the_deadline_is_a_timeout():
    def slow(request):
        import time

        time.sleep(0.3)
        return {"late": True}

    app = djng.Router(djng.path("slow", slow))
    with djng.clients.use({"callee": djng.clients.InProcess(app, timeout=0.1)}):
        with pytest.raises(djng.clients.RemoteTimeout, match="'callee' .GET /slow."):
            djng.clients.callee.get("/slow")


JSON = {"Accept": "application/json"}


def test_reply_headers_are_case_insensitive_and_keep_every_cookie():
    def cookies(request):
        response = djng.Response("ok")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    app = djng.Router(djng.path("cookies", cookies))
    with djng.clients.use({"callee": djng.clients.InProcess(app)}):
        reply = djng.clients.callee.request("GET", "/cookies")
    assert reply.headers["content-type"] == reply.headers["Content-Type"]
    assert "a=1" in reply.headers["Set-Cookie"] and "b=2" in reply.headers["Set-Cookie"]


def test_a_dropped_http_transport_closes_its_pool():
    import gc

    transport = djng.clients.HTTP(f"http://127.0.0.1:{free_port()}", retries=0, timeout=0.5)
    with djng.clients.use({"users": transport}), pytest.raises(djng.clients.RemoteError):
        djng.clients.users.get("/x")
    pool = transport._client
    del transport
    gc.collect()
    assert pool.is_closed


def test_http_without_httpx_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "httpx" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'djng\[clients\]'"):
        djng.clients.configure({"users": "http://users.internal"})
