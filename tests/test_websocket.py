"""Websockets under ``djng.asgi`` (``djng.websocket``): the WebSocket object, routing through
mounts and layers, services, sessions and users, the handshake's checks, errors, isolation
between connections, the test client, WSGI's answer, and one real uvicorn.

Every wait that could hang has a timeout (``WAIT``); none asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
import textwrap

import pytest
from asgiref.sync import sync_to_async
from conftest import free_port, require, wait_for_http
from django.core.cache import cache as django_cache
from django.urls import path as django_path

import djng
from djng import testing
from djng.testing import AsyncClient, WebSocketRefused
from djng.websocket import WebSocketState

#: Seconds anything waits before the test gives up: a guard against hanging.
WAIT = 5

SECRET = "test-secret-" + "x" * 40


def run(coroutine):
    async def bounded():
        return await asyncio.wait_for(coroutine, WAIT * 4)

    return asyncio.run(bounded())


class Recorder:
    """A reporter for ``djng.errors`` that keeps what it is sent."""

    def __init__(self):
        self.exceptions: list[BaseException] = []

    def report(self, request, exc):
        self.exceptions.append(exc)


# -- the handlers -----------------------------------------------------------------------------


async def echo(ws):
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await ws.send_text("text:" + message["text"])
        else:
            await ws.send_bytes(b"bytes:" + message["bytes"])


async def echo_json(ws):
    await ws.accept()
    data = await ws.receive_json()
    await ws.send_json({"got": data, "when": datetime.date(2026, 1, 2)})
    await ws.close()


async def lines(ws):
    await ws.accept()
    seen = [text async for text in ws.iter_text()]
    lines.seen.append(seen)


lines.seen = []


async def task(ws, id, name):
    await ws.accept()
    await ws.send_json({"id": id, "name": name, "params": ws.path_params})
    await ws.close()


def page(request):
    return "an HTTP page"


APP = djng.Router(
    djng.path("", page),
    djng.websocket("ws/echo", echo),
    djng.websocket("ws/json", echo_json),
    djng.websocket("ws/lines", lines),
)


# -- the WebSocket object ----------------------------------------------------------------------


def test_echo_of_text_and_bytes():
    async def main():
        async with AsyncClient(APP).websocket_connect("/ws/echo") as ws:
            await ws.send_text("hello")
            assert await ws.receive_text() == "text:hello"
            await ws.send_bytes(b"\x00\x01")
            assert await ws.receive_bytes() == b"bytes:\x00\x01"

    run(main())


def test_json_both_ways_with_djangos_encoder_and_a_close_the_client_sees():
    async def main():
        async with AsyncClient(APP).websocket_connect("/ws/json") as ws:
            await ws.send_json({"n": [1, 2]})
            assert await ws.receive_json() == {"got": {"n": [1, 2]}, "when": "2026-01-02"}
            with pytest.raises(djng.WebSocketDisconnect) as closed:
                await ws.receive_text()
            assert closed.value.code == 1000

    run(main())


def test_iter_text_ends_cleanly_when_the_client_disconnects():
    lines.seen.clear()

    async def main():
        async with AsyncClient(APP).websocket_connect("/ws/lines") as ws:
            for text in ("a", "b", "c"):
                await ws.send_text(text)
            await ws.close(1001)

    run(main())
    assert lines.seen == [["a", "b", "c"]]


def test_receive_json_iter_bytes_and_iter_json():
    got = []

    async def handler(ws):
        await ws.accept()
        got.append(await ws.receive_json())  # a binary message with JSON in it
        async for data in ws.iter_bytes():
            got.append(data)
            break
        got.extend([data async for data in ws.iter_json()])

    async def main():
        async with AsyncClient(djng.Router(djng.websocket("", handler))).websocket_connect(
            "/"
        ) as ws:
            await ws.send_bytes(b'{"a": 1}')
            await ws.send_bytes(b"raw")
            await ws.send_json([1])
            await ws.send_text('"two"')

    run(main())
    assert got == [{"a": 1}, b"raw", [1], "two"]


def test_accept_with_a_subprotocol_and_headers():
    async def handler(ws):
        await ws.accept(subprotocol=ws.scope["subprotocols"][-1], headers=[("X-Seen", "yes")])
        await ws.close()

    async def main():
        client = AsyncClient(djng.Router(djng.websocket("", handler)))
        async with client.websocket_connect("/", subprotocols=["v1", "v2"]) as ws:
            assert ws.accepted_subprotocol == "v2"
            assert ("x-seen", "yes") in ws.accepted_headers

    run(main())


def test_the_handler_gets_the_path_arguments_through_mounts():
    inner = djng.Router(djng.websocket("tasks/<int:id>/<slug:name>", task, name="task"))
    app = djng.Router(djng.mount("api", djng.reconfigure(inner, cache=djng.cache.LocMem())))

    async def main():
        async with AsyncClient(app).websocket_connect("/api/tasks/7/write-docs") as ws:
            assert await ws.receive_json() == {
                "id": 7, "name": "write-docs", "params": {"id": 7, "name": "write-docs"},
            }

    run(main())
    assert djng.reverse("task", kwargs={"id": 7, "name": "x"}, router=app) == "/api/tasks/7/x"


def test_a_plain_router_mounted_in_another_routes_websockets_too():
    app = djng.Router(djng.mount("v1", djng.Router(djng.websocket("t/<int:id>/<name>", task))))

    async def main():
        async with AsyncClient(app).websocket_connect("/v1/t/1/x") as ws:
            assert (await ws.receive_json())["id"] == 1

    run(main())


def test_sending_before_accept_is_a_clear_error():
    errors = []

    async def handler(ws):
        with pytest.raises(RuntimeError, match=r"accept\(\) before sending") as raised:
            await ws.send_text("too soon")
        errors.append(raised.value)
        with pytest.raises(RuntimeError, match=r"accept\(\) before receiving"):
            await ws.receive_text()
        await ws.accept()
        await ws.close()
        with pytest.raises(RuntimeError, match="is closed"):
            await ws.send_text("too late")
        errors.append("closed")

    async def main():
        async with AsyncClient(djng.Router(djng.websocket("", handler))).websocket_connect("/"):
            pass

    run(main())
    assert len(errors) == 2


def test_a_handler_that_returns_without_closing_is_closed_with_1000():
    async def handler(ws):
        await ws.accept()
        await ws.send_text("bye")

    async def main():
        async with AsyncClient(djng.Router(djng.websocket("", handler))).websocket_connect(
            "/"
        ) as ws:
            assert await ws.receive_text() == "bye"
            with pytest.raises(djng.WebSocketDisconnect):
                await ws.receive_text()
            assert ws.close_code == 1000

    run(main())


def test_a_handler_that_raises_closes_with_1011_and_is_reported():
    recorder = Recorder()
    seen = []

    async def handler(ws):
        await ws.accept()
        seen.append(ws)
        raise ValueError("the handler broke")

    async def main():
        client = AsyncClient(djng.Router(djng.websocket("", handler)), raise_exceptions=False)
        async with client.websocket_connect("/") as ws:
            with pytest.raises(djng.WebSocketDisconnect) as closed:
                await ws.receive_text()
            assert closed.value.code == 1011 == ws.close_code

    with djng.errors.use(recorder):
        run(main())
    assert [str(exc) for exc in recorder.exceptions] == ["the handler broke"]
    assert seen[0].application_state is WebSocketState.DISCONNECTED


def test_the_test_client_raises_the_handlers_exception_by_default():
    async def handler(ws):
        await ws.accept()
        raise ValueError("raised in the test")

    async def main():
        async with AsyncClient(djng.Router(djng.websocket("", handler))).websocket_connect("/"):
            pass

    with pytest.raises(ValueError, match="raised in the test"):
        run(main())


def test_a_client_that_leaves_is_no_error():
    recorder = Recorder()
    left = []

    async def handler(ws):
        await ws.accept()
        try:
            await ws.receive_text()
        finally:
            left.append(ws.client_state)

    async def main():
        client = AsyncClient(djng.Router(djng.websocket("", handler)), raise_exceptions=False)
        async with client.websocket_connect("/") as ws:
            await ws.close(1001)

    with djng.errors.use(recorder):
        run(main())
    assert left == [WebSocketState.DISCONNECTED]
    assert recorder.exceptions == []


# -- routes: websocket and HTTP do not mix ------------------------------------------------------


def test_an_http_request_to_a_websocket_route_answers_426():
    async def main():
        response = await AsyncClient(APP).get("/ws/echo")
        assert response.status_code == 426
        assert response["Upgrade"] == "websocket"
        assert "djng.asgi" in response.text

    run(main())


def test_under_wsgi_a_websocket_route_says_to_serve_with_asgi():
    response = testing.Client(APP).get("/ws/echo", headers={"Upgrade": "websocket"})
    assert response.status_code == 426
    assert "djng.asgi" in response.text and "uvicorn" in response.text


def test_a_websocket_connection_to_an_http_route_is_refused_404_without_running_it():
    calls = []

    def view(request):
        calls.append(request)
        return "ran"

    async def async_view(request):
        calls.append(request)
        return "ran"

    app = djng.Router(
        djng.path("sync", view),
        djng.path("async", async_view),
        djng.mount("legacy", view),
        djng.mount("django", [django_path("x", view)]),
        djng.websocket("ws/echo", echo),
    )

    async def main():
        client = AsyncClient(app)
        for path in ("/sync", "/async", "/legacy/a", "/django/x", "/nowhere"):
            with pytest.raises(WebSocketRefused) as refused:
                async with client.websocket_connect(path):
                    pass
            assert refused.value.status_code == 404, path

    run(main())
    assert calls == []


def test_an_app_without_websocket_routes_refuses_connections():
    async def main():
        with pytest.raises(WebSocketRefused) as refused:
            async with AsyncClient(djng.Router(djng.path("", page))).websocket_connect("/"):
                pass
        assert refused.value.status_code == 404

    run(main())


def test_without_the_http_response_extension_a_refusal_is_a_close():
    async def main():
        sent = []
        messages = iter([{"type": "websocket.connect"}])

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "websocket", "path": "/nowhere", "query_string": b"", "scheme": "ws",
            "headers": [(b"host", b"localhost")], "server": ("localhost", 80),
        }
        await djng.asgi(APP)(scope, receive, send)
        assert [m["type"] for m in sent] == ["websocket.close"]

    run(main())


def test_a_websocket_handler_must_be_async():
    def handler(ws):
        pass

    with pytest.raises(TypeError, match=r"djng.websocket\('x'\).*async"):
        djng.websocket("x", handler)
    with pytest.raises(ValueError, match=r"djng.websocket\('x/<nope:id>'\)"):
        djng.websocket("x/<nope:id>", echo)


# -- the handshake's checks ------------------------------------------------------------------------


def test_origin_of_an_allowed_host_passes_and_a_missing_one_too():
    async def main():
        client = AsyncClient(APP)
        for headers in ({"Origin": "http://testserver"}, {}):
            async with client.websocket_connect("/ws/echo", headers=headers) as ws:
                await ws.send_text("x")
                assert await ws.receive_text() == "text:x"
        with djng.hosts.use(["example.com"]):
            async with client.websocket_connect(
                "/ws/echo", headers={"Origin": "https://example.com:8443"}
            ) as ws:
                await ws.send_text("y")
                assert await ws.receive_text() == "text:y"

    run(main())


def test_origin_of_another_site_is_refused_403_before_the_app():
    ran = []

    async def handler(ws):
        ran.append(ws)
        await ws.accept()

    async def main():
        client = AsyncClient(djng.Router(djng.websocket("", handler)))
        for origin in ("https://evil.example", "null"):
            with pytest.raises(WebSocketRefused) as refused:
                async with client.websocket_connect("/", headers={"Origin": origin}):
                    pass
            assert refused.value.status_code == 403
            assert "Origin" in refused.value.response.text

    run(main())
    assert ran == []


def test_a_host_the_app_does_not_answer_is_refused_400():
    async def main():
        client = AsyncClient(APP, base_url="http://evil.example")
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/ws/echo"):
                pass
        assert refused.value.status_code == 400

    run(main())


# -- services, sessions and users ----------------------------------------------------------------


def test_reconfigured_services_are_in_effect_for_the_connection_and_do_not_leak():
    section_cache = djng.cache.LocMem("websocket-section")

    async def handler(ws):
        await ws.accept()
        await ws.send_json({"section": djng.cache.current() is section_cache})
        djng.cache.push(djng.cache.LocMem("pushed-by-the-handler"))
        await django_cache.aset("k", "v")
        await ws.send_json({"pushed": await django_cache.aget("k")})

    app = djng.Router(djng.mount("s", djng.reconfigure(
        djng.Router(djng.websocket("ws", handler)), cache=section_cache
    )))

    async def main():
        before = djng.cache.current()
        async with AsyncClient(app).websocket_connect("/s/ws") as ws:
            assert await ws.receive_json() == {"section": True}
            assert await ws.receive_json() == {"pushed": "v"}
        assert djng.cache.current() is before

    run(main())
    assert section_cache.get("k") is None  # the handler's own cache got it


def test_fifty_concurrent_connections_each_in_its_own_context_on_two_threads():
    """Each connection pushes a cache of its own and sets it on a worker thread, all
    fifty open at once: an idle connection holds no thread, so two threads are enough."""

    async def handler(ws, n):
        await ws.accept()
        djng.cache.push(djng.cache.LocMem(f"connection-{n}"))
        await sync_to_async(django_cache.set)("who", n)  # on a worker thread
        await ws.send_text("ready")
        await ws.receive_text()  # every connection has used a thread by now
        await ws.send_json({"n": n, "who": await django_cache.aget("who")})

    app = djng.Router(djng.websocket("c/<int:n>", handler))

    async def main():
        client = AsyncClient(app, threads=2)

        async def one(n):
            async with client.websocket_connect(f"/c/{n}") as ws:
                assert await ws.receive_text() == "ready"
                ready.append(n)
                if len(ready) == 50:
                    everyone.set()
                await asyncio.wait_for(everyone.wait(), WAIT)
                await ws.send_text("go")
                return await ws.receive_json()

        ready: list[int] = []
        everyone = asyncio.Event()
        return await asyncio.gather(*(one(n) for n in range(50)))

    assert run(main()) == [{"n": n, "who": n} for n in range(50)]


@pytest.fixture
def secret_key():
    with djng.secrets.use(SECRET):
        yield SECRET


async def login_as(request, username):
    from django.contrib.auth import alogin

    await alogin(request, await djng.auth.User.objects.aget(username=username))
    await request.session.aset("color", "blue")
    return {"logged_in": username}


async def who(ws):
    await ws.accept()
    await ws.send_json({
        "user": ws.user.username if ws.user.is_authenticated else None,
        "color": ws.session.get("color"),
        "cookie": "sessionid" in ws.request.COOKIES,
    })
    await ws.close()


def test_session_and_user_from_an_http_login(database, secret_key):
    app = djng.auth(djng.Router(
        djng.path("as/<str:username>", login_as),
        djng.mount("api", djng.Router(djng.websocket("who", who))),
    ))
    djng.db.create_tables()
    djng.auth.User.objects.create(username="ada")  # no password: no slow hashing

    async def main():
        client = AsyncClient(app, threads=2)
        async with client.websocket_connect("/api/who") as ws:
            assert await ws.receive_json() == {"user": None, "color": None, "cookie": False}
        assert (await client.get("/as/ada")).json() == {"logged_in": "ada"}
        async with client.websocket_connect("/api/who") as ws:
            assert await ws.receive_json() == {"user": "ada", "color": "blue", "cookie": True}
        await client.handler.shutdown()

    run(main())


def test_login_required_around_websocket_routes_refuses_an_anonymous_connection(
    database, secret_key
):
    private = djng.login_required(djng.Router(djng.websocket("who", who)))
    app = djng.auth(djng.Router(djng.mount("private", private)))
    djng.db.create_tables()

    async def main():
        client = AsyncClient(app, headers={"Accept": "application/json"})
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/private/who"):
                pass
        assert refused.value.status_code == 401
        await client.handler.shutdown()

    run(main())


def test_login_required_around_a_handler_refuses_the_handshake_or_runs_it(database, secret_key):
    """``djng.websocket(route, djng.login_required(handler))``: the layer gets the
    websocket; an anonymous client's handshake gets the login answer (401 for JSON, a
    redirect with ?next= for a page), a logged-in one reaches the handler."""
    app = djng.auth(djng.Router(
        djng.path("as/<str:username>", login_as),
        djng.websocket("who", djng.login_required(who)),
        djng.websocket("elsewhere", djng.login_required(who, login_url="/enter")),
    ), login_url="/login")
    djng.db.create_tables()
    djng.auth.User.objects.create(username="ada")

    async def main():
        client = AsyncClient(app, threads=2)
        for headers, status, location in (({"Accept": "application/json"}, 401, None),
                                          ({}, 302, "/login?next=/who")):
            with pytest.raises(WebSocketRefused) as refused:
                async with client.websocket_connect("/who", headers=headers):
                    pass
            assert refused.value.status_code == status
            assert refused.value.response.get("Location") == location
        with pytest.raises(WebSocketRefused) as refused:
            async with client.websocket_connect("/elsewhere"):
                pass
        assert refused.value.response["Location"] == "/enter?next=/elsewhere"
        assert (await client.get("/as/ada")).json() == {"logged_in": "ada"}
        async with client.websocket_connect("/who") as ws:
            assert await ws.receive_json() == {"user": "ada", "color": "blue", "cookie": True}
        await client.handler.shutdown()

    run(main())


def test_a_layer_around_a_sync_function_is_still_not_a_handler():
    def handler(ws):
        pass

    with pytest.raises(TypeError, match="must be an async function"):
        djng.websocket("feed", djng.login_required(handler))


def test_a_request_layer_around_a_handler_says_to_put_it_around_the_router():
    """Only login_required takes the websocket where a view takes the request; any
    other layer around a handler is refused when the route is made, saying where it
    goes (else it would fail at each handshake, looking for request.META)."""
    from django.utils.deprecation import MiddlewareMixin

    class Tag(MiddlewareMixin):
        def process_request(self, request):
            request.META.get("HTTP_HOST")

    async def handler(ws):
        await ws.accept()

    for layered in (djng.middleware(Tag)(handler),
                    djng.reconfigure(handler, cache=djng.cache.LocMem())):
        with pytest.raises(TypeError, match=r"around the Router that holds the route"):
            djng.websocket("feed", layered)


def test_ws_user_without_auth_says_what_to_add():
    async def handler(ws):
        await ws.accept()
        with pytest.raises(AttributeError, match=r"djng.auth\(app\)"):
            ws.user  # noqa: B018
        await ws.close()

    async def main():
        async with AsyncClient(djng.Router(djng.websocket("", handler))).websocket_connect("/"):
            pass

    run(main())


# -- a real server -------------------------------------------------------------------------------

UVICORN_APP = '''
import djng

async def echo(ws, room):
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_json({"room": room, "text": text, "origin": ws.request.headers.get("Origin")})

def health(request):
    return "ok"

application = djng.asgi(djng.Router(
    djng.path("health", health),
    djng.mount("live", djng.Router(djng.websocket("rooms/<slug:room>", echo))),
))
'''


def test_under_a_real_uvicorn(tmp_path, spawn):
    require("uvicorn", "websockets", extra="uvicorn,test")
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    (tmp_path / "app.py").write_text(textwrap.dedent(UVICORN_APP))
    port = free_port()
    proc = spawn([
        sys.executable, "-m", "uvicorn", "app:application", "--host", "127.0.0.1",
        "--port", str(port), "--app-dir", str(tmp_path), "--no-access-log",
    ], cwd=tmp_path)
    wait_for_http(f"http://127.0.0.1:{port}/health", proc)
    url = f"ws://127.0.0.1:{port}/live/rooms/"

    async def main():
        async def chat(n):
            async with connect(f"{url}r{n}", origin=f"http://127.0.0.1:{port}") as ws:
                await ws.send(f"hi {n}")
                return await ws.recv()

        answers = await asyncio.gather(*(chat(n) for n in range(20)))
        assert [djng_json(a)["room"] for a in answers] == [f"r{n}" for n in range(20)]
        assert djng_json(answers[3])["text"] == "hi 3"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{url}x", origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{port}/health"):
                pass
        assert refused.value.response.status_code == 404

    run(main())


def djng_json(text):
    import json

    return json.loads(text)


def test_a_client_that_leaves_ends_a_handler_that_only_sends():
    """A handler waiting on something else (a subscription) is cancelled when its client
    leaves, as a request is: its blocks exit and the subscription ends at once."""
    ended = asyncio.Event()

    async def only_sends(ws):
        await ws.accept()
        try:
            async with djng.pubsub.subscribe("never.published") as messages:
                async for message in messages:
                    await ws.send_json(message.data)
        finally:
            ended.set()

    app = djng.Router(djng.websocket("ws/quiet", only_sends))

    async def main():
        broker = djng.pubsub.Memory()
        with djng.pubsub.use(broker):
            async with AsyncClient(app).websocket_connect("/ws/quiet") as ws:
                await ws.send_text("anything: it is queued, never read")
                await asyncio.sleep(0.05)
                assert broker.subscribers("never.published") == 1
            await asyncio.wait_for(ended.wait(), 2)
            assert broker.subscribers("never.published") == 0

    run(main())


def test_a_handler_that_does_not_read_holds_at_most_a_backlog_of_messages():
    """A client sending to a handler that never reads waits (flow control) instead of
    growing the server's memory."""
    from djng.websocket import BACKLOG

    seen = {}

    async def deaf(ws):
        await ws.accept()
        seen["ws"] = ws
        await asyncio.sleep(0.3)
        seen["queued"] = ws._messages.qsize()

    app = djng.Router(djng.websocket("ws/deaf", deaf))

    async def main():
        async with AsyncClient(app).websocket_connect("/ws/deaf") as ws:
            for n in range(BACKLOG * 4):
                await ws.send_text(str(n))
            await asyncio.sleep(0.4)

    run(main())
    assert seen["queued"] <= BACKLOG
