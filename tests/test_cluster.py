"""djng.testing.Cluster: services wired to each other, each test in three set-ups:
in-process, and under real servers on loopback (werkzeug with djng.wsgi, uvicorn
with djng.asgi). What a test asserts holds the same in all three."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import threading
import time
from decimal import Decimal

import httpx
import pytest
from conftest import require
from django.db import connections
from django.http import Http404

import djng
from djng.testing import Cluster, Recorded

SETUPS = {
    "in-process": ("in-process", "werkzeug"),
    "werkzeug": ("servers", "werkzeug"),
    "uvicorn": ("servers", "uvicorn"),
}

#: Upper bound for a call that must stop at a 0.3 s deadline (its callee takes 2 s).
LATE = 2.0

JOINED = datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.UTC)


@pytest.fixture(params=list(SETUPS))
def setup(request):
    """(mode, server) of the set-up the test runs in."""
    require("werkzeug", *(["uvicorn"] if request.param == "uvicorn" else []))
    return SETUPS[request.param]


@pytest.fixture
def cluster_of(setup):
    """``cluster_of(services, **options)``: an entered Cluster in this set-up, exited at the end."""
    mode, server = setup
    with contextlib.ExitStack() as stack:
        yield lambda services, **options: stack.enter_context(
            Cluster(services, mode=mode, server=server, **options))


# -- the services ----------------------------------------------------------------------------


def user_of(request, id):
    if id == 0:
        raise Http404("no such user")
    return {"id": id, "request_id": request.id, "cache": repr(djng.cache.current()),
            "joined": JOINED, "balance": Decimal("12.50")}


async def auser(request, id):
    await asyncio.sleep(0)
    return user_of(request, id)


def echo(request):
    return {"method": request.method, "type": request.content_type,
            "body": request.body.decode()}


def remember(request):
    djng.cache.set(request.GET["key"], request.GET["value"])
    return {"ok": True}


def recall(request):
    return {"value": djng.cache.get(request.GET["key"])}


async def slow(request):
    await asyncio.sleep(LATE)
    return {"late": True}


def slow_sync(request):
    time.sleep(0.6)
    return {"late": True}


def where(request):
    return {"thread": threading.current_thread().name,
            "server": request.META.get("SERVER_SOFTWARE", "")}


async def awhere(request):
    return where(request)


def make_users(**backends):
    """The users service, with its own backends (a cache unless given; none with None)."""
    backends.setdefault("cache", djng.cache.LocMem())
    backends = {name: backend for name, backend in backends.items() if backend is not None}
    app = djng.Router(
        djng.path("users/<int:id>", user_of),
        djng.path("ausers/<int:id>", auser),
        djng.path("echo", echo),
        djng.path("remember", remember),
        djng.path("recall", recall),
        djng.path("broken", lambda request: 1 / 0),
        djng.path("slow", slow),
        djng.path("slow-sync", slow_sync),
        djng.path("where", where),
        djng.path("awhere", awhere),
    )
    return djng.reconfigure(app, **backends) if backends else app


def order(request, id):
    return {"order": id, "user": djng.clients.users.get(f"/users/{id}")}


async def aorder(request, id):
    return {"order": id, "user": await djng.clients.users.aget(f"/ausers/{id}")}


def pushing(request):
    """A caller that pushes a cache of its own before the call."""
    djng.cache.push(djng.cache.Dummy())
    return {"mine": repr(djng.cache.current()), "theirs": djng.clients.users.get("/users/1")}


async def apushing(request):
    djng.cache.push(djng.cache.Dummy())
    return {"mine": repr(djng.cache.current()),
            "theirs": await djng.clients.users.aget("/ausers/1")}


def posting(request):
    return djng.clients.users.post("/echo", json={"when": JOINED, "price": Decimal("3.10")})


def forward(path):
    """A view that calls users at ``path`` (sync) and returns its answer."""
    return lambda request: djng.clients.users.get(path)


async def aslow(request):
    return await djng.clients.users.aget("/slow")


def make_orders(**backends):
    backends.setdefault("cache", djng.cache.LocMem())
    return djng.reconfigure(djng.Router(
        djng.path("orders/<int:id>", order),
        djng.path("aorders/<int:id>", aorder),
        djng.path("pushing", pushing),
        djng.path("apushing", apushing),
        djng.path("posting", posting),
        djng.path("missing", forward("/users/0")),
        djng.path("broken", forward("/broken")),
        djng.path("slow", aslow),
        djng.path("slow-sync", forward("/slow-sync")),
        djng.path("remember", remember),
        djng.path("recall", recall),
    ), **backends)


def shop(cluster_of, **options):
    return cluster_of({"users": make_users(), "orders": make_orders()}, **options)


# -- wiring: the test clients and djng.clients -----------------------------------------------


def test_a_service_calls_another_from_sync_and_async_views(cluster_of):
    cluster = shop(cluster_of)
    sync = cluster["orders"].get("/orders/7")
    assert sync.status_code == 200, sync.text
    assert (sync.json()["order"], sync.json()["user"]["id"]) == (7, 7)
    answer = cluster["orders"].get("/aorders/8")
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["id"] == 8
    assert cluster.calls == [
        Recorded("orders", "users", "GET", "/users/7", 200),
        Recorded("orders", "users", "GET", "/ausers/8", 200),
    ]


def test_the_async_client_of_a_service(cluster_of):
    cluster = shop(cluster_of)

    async def main():
        return [await cluster.async_client("orders").get(path) for path in ("/orders/1",
                                                                            "/aorders/2")]

    first, second = asyncio.run(main())
    assert (first.json()["user"]["id"], second.json()["user"]["id"]) == (1, 2)
    assert [call.caller for call in cluster.calls] == ["orders", "orders"]


def test_the_tests_own_calls_reach_the_services_recorded_without_a_caller(cluster_of):
    cluster = shop(cluster_of)
    assert djng.clients.users.get("/users/3")["id"] == 3
    assert asyncio.run(djng.clients.orders.aget("/orders/4"))["user"]["id"] == 4
    assert cluster.calls == [
        Recorded(None, "users", "GET", "/users/3", 200),
        Recorded("orders", "users", "GET", "/users/4", 200),
        Recorded(None, "orders", "GET", "/orders/4", 200),
    ]


# -- every call starts from a fresh context ---------------------------------------------------


def test_what_a_caller_pushed_does_not_reach_the_callee(cluster_of):
    users_cache = djng.cache.LocMem()
    cluster = cluster_of({"users": make_users(cache=users_cache), "orders": make_orders()})
    for path in ("/pushing", "/apushing"):  # a sync view, an async one
        answer = cluster["orders"].get(path).json()
        assert answer["mine"] == "Dummy()"  # the caller's push is in effect for it
        assert answer["theirs"]["cache"] == repr(users_cache)  # the callee sees its own


def test_what_the_test_pushed_reaches_no_service(cluster_of):
    """users has no cache of its own: it sees the process's, never the one the test pushed
    around its requests (as a server in another thread would not)."""
    cluster = cluster_of({"users": make_users(cache=None), "orders": make_orders()})
    with djng.cache.use(djng.cache.Dummy()):
        through_orders = cluster["orders"].get("/orders/1").json()["user"]["cache"]
        direct = cluster["users"].get("/users/1").json()["cache"]
        called = djng.clients.users.get("/users/1")["cache"]
    assert through_orders == direct == called == repr(djng.cache.current())
    assert direct != "Dummy()"


def test_each_service_keeps_its_own_cache(cluster_of):
    cluster = shop(cluster_of)
    assert cluster["users"].get("/remember", {"key": "k", "value": "users'"}).json()["ok"]
    assert cluster["orders"].get("/remember", {"key": "k", "value": "orders'"}).json()["ok"]
    assert cluster["users"].get("/recall", {"key": "k"}).json()["value"] == "users'"
    assert cluster["orders"].get("/recall", {"key": "k"}).json()["value"] == "orders'"
    assert djng.clients.users.get("/recall", params={"key": "k"})["value"] == "users'"


def db_service():
    """A service that writes to and reads a table of whichever database is in effect."""

    def cursor():
        return djng.db.current().connection.cursor()

    def write(request):
        with cursor() as c:
            c.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            c.execute("INSERT INTO notes VALUES (%s)", [request.GET["text"]])
        return {"ok": True}

    def read(request):
        with cursor() as c:
            c.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            c.execute("SELECT text FROM notes ORDER BY text")
            return [row[0] for row in c.fetchall()]

    def read_other(request):
        return {"mine": read(request), "theirs": djng.clients[request.GET["other"]].get("/read")}

    return djng.Router(djng.path("write", write), djng.path("read", read),
                       djng.path("read-other", read_other))


def test_each_service_keeps_its_own_database(cluster_of, tmp_path):
    a_db, b_db = djng.db.SQLite(tmp_path / "a.db"), djng.db.SQLite(tmp_path / "b.db")
    try:
        cluster = cluster_of({"a": djng.reconfigure(db_service(), db=a_db),
                              "b": djng.reconfigure(db_service(), db=b_db)})
        assert cluster["a"].get("/write", {"text": "in a"}).json()["ok"]
        assert djng.clients.b.get("/write", params={"text": "in b"})["ok"]
        assert cluster["a"].get("/read").json() == ["in a"]
        assert cluster["b"].get("/read-other", {"other": "a"}).json() == {
            "mine": ["in b"], "theirs": ["in a"]}
        with a_db.connection.cursor() as c:  # on the files themselves
            c.execute("SELECT text FROM notes")
            assert c.fetchall() == [("in a",)]
    finally:
        for database in (a_db, b_db):
            connections[database.alias].close()


# -- real serialization ---------------------------------------------------------------------------


def test_answers_arrive_as_json_not_python_objects(cluster_of):
    cluster = shop(cluster_of)
    user = djng.clients.users.get("/users/2")
    assert user["joined"] == "2024-05-17T12:30:00Z"
    assert user["balance"] == "12.50"
    through = cluster["orders"].get("/orders/2").json()["user"]
    assert (through["joined"], through["balance"]) == ("2024-05-17T12:30:00Z", "12.50")


def test_a_posted_json_body_arrives_as_json(cluster_of):
    cluster = shop(cluster_of)
    echoed = cluster["orders"].get("/posting").json()
    assert echoed["method"] == "POST"
    assert echoed["type"] == "application/json"
    assert echoed["body"] == '{"when":"2024-05-17T12:30:00Z","price":"3.10"}'
    assert cluster.calls == [Recorded("orders", "users", "POST", "/echo", 200)]


def test_a_test_clients_request_arrives_whole_and_is_not_a_recorded_call(cluster_of):
    cluster = shop(cluster_of)
    answer = cluster["users"].post("/echo", data=b'{"a": [1, 2]}', content_type="application/json")
    assert answer.json() == {"method": "POST", "type": "application/json",
                             "body": '{"a": [1, 2]}'}
    assert cluster["users"].get("/users/5").json()["id"] == 5
    assert cluster.calls == []


# -- failures, recorded ---------------------------------------------------------------------


def test_a_missing_remote_resource_is_a_404_all_the_way(cluster_of):
    cluster = shop(cluster_of)
    assert cluster["orders"].get("/missing").status_code == 404
    assert cluster.calls == [Recorded("orders", "users", "GET", "/users/0", 404)]
    with pytest.raises(Http404, match=r"'users' \(GET /users/0\) answered 404"):
        djng.clients.users.get("/users/0")
    assert cluster.calls[-1] == Recorded(None, "users", "GET", "/users/0", 404)


def test_a_callee_that_raises_is_a_502_for_the_caller(cluster_of, caplog):
    cluster = shop(cluster_of)
    response = cluster["orders"].get("/broken", headers={"Accept": "application/json"})
    assert response.status_code == 502
    assert "users" not in response.text and "broken" not in response.text
    assert cluster.calls == [Recorded("orders", "users", "GET", "/broken", 500)]
    with pytest.raises(djng.clients.RemoteError, match=r"'users' \(GET /broken\) answered 500"):
        djng.clients.users.get("/broken")
    assert cluster.calls[-1] == Recorded(None, "users", "GET", "/broken", 500)


def three(cluster_of, c):
    """front -> orders -> c, each call a sync view's."""
    front = djng.Router(djng.path("via/<path:rest>",
                                  lambda request, rest: djng.clients.orders.get(f"/{rest}")))
    middle = djng.Router(djng.path("<path:rest>",
                                   lambda request, rest: djng.clients.users.get(f"/{rest}")))
    return cluster_of({"front": front, "orders": middle, "users": c})


def test_a_chain_of_three_records_each_hop_with_its_caller(cluster_of):
    cluster = three(cluster_of, make_users())
    assert cluster["front"].get("/via/users/6").json()["id"] == 6
    # Recorded as they are answered: the inner call first.
    assert cluster.calls == [
        Recorded("orders", "users", "GET", "/users/6", 200),
        Recorded("front", "orders", "GET", "/users/6", 200),
    ]


def test_a_failure_at_the_end_of_a_chain_is_called_once(cluster_of):
    """users raises: orders answers 502, front too; no hop is tried again."""
    cluster = three(cluster_of, make_users())
    assert cluster["front"].get("/via/broken").status_code == 502
    assert cluster.calls == [
        Recorded("orders", "users", "GET", "/broken", 500),
        Recorded("front", "orders", "GET", "/broken", 502),
    ]


# -- the deadline ---------------------------------------------------------------------------------


def test_an_async_callee_slower_than_the_deadline_is_a_504(cluster_of):
    cluster = shop(cluster_of, timeout=0.3)
    started = time.monotonic()
    response = cluster["orders"].get("/slow")
    assert response.status_code == 504, response.text
    assert time.monotonic() - started < LATE
    assert cluster.calls == [Recorded("orders", "users", "GET", "/slow", 504)]


def test_a_sync_callee_slower_than_the_deadline_is_a_504(cluster_of):
    """Over HTTP the call stops at the deadline; in-process it cannot, and the late
    answer is a timeout all the same."""
    cluster = shop(cluster_of, timeout=0.3)
    started = time.monotonic()
    response = cluster["orders"].get("/slow-sync")
    assert response.status_code == 504, response.text
    assert time.monotonic() - started < LATE
    assert cluster.calls == [Recorded("orders", "users", "GET", "/slow-sync", 504)]
    with pytest.raises(djng.clients.RemoteTimeout, match="'users'"):
        djng.clients.users.get("/slow-sync")


# -- propagation --------------------------------------------------------------------------------


def test_the_request_id_reaches_the_callee(cluster_of):
    cluster = shop(cluster_of)
    for path in ("/orders/1", "/aorders/1"):
        answer = cluster["orders"].get(path, headers={"X-Request-ID": "edge-42"}).json()
        assert answer["user"]["request_id"] == "edge-42"
    made = cluster["orders"].get("/orders/1").json()["user"]["request_id"]
    assert len(made) == 32  # made at the edge (orders), sent on


# -- errors that say what to do -----------------------------------------------------------------


def test_bad_arguments_are_refused():
    users = make_users()
    with pytest.raises(ValueError, match="mode=.*'in-process', 'servers'.*'threads'"):
        Cluster({"users": users}, mode="threads")
    with pytest.raises(ValueError, match="server=.*'werkzeug', 'uvicorn'.*'gunicorn'"):
        Cluster({"users": users}, mode="servers", server="gunicorn")
    with pytest.raises(ValueError, match="needs the services"):
        Cluster({})
    with pytest.raises(TypeError, match="'users' needs an app"):
        Cluster({"users": "http://users"})


def test_an_unknown_service_names_the_ones_there_are(cluster_of):
    cluster = shop(cluster_of)
    with pytest.raises(KeyError, match=r"no service 'nope'.*\['orders', 'users'\]"):
        cluster["nope"]
    with pytest.raises(KeyError, match="no service 'nope'"):
        cluster.async_client("nope")


def test_the_clients_are_for_inside_the_with_block(setup):
    mode, server = setup
    cluster = Cluster({"users": make_users()}, mode=mode, server=server)
    with pytest.raises(RuntimeError, match="inside `with Cluster"):
        cluster["users"]
    with cluster:
        assert cluster["users"].get("/users/1").status_code == 200
    with pytest.raises(LookupError, match="DJNG_SERVICE_USERS_URL"):
        djng.clients.users.get("/users/1")  # the test's wiring ends with the block


def test_url_is_for_servers_mode():
    with Cluster({"users": make_users()}) as cluster, pytest.raises(
        LookupError, match="mode='servers'"
    ):
        cluster.url("users")


# -- servers on loopback ------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["werkzeug", "uvicorn"])
def test_servers_listen_on_loopback_until_the_block_ends(server):
    require(server)
    with Cluster({"users": make_users()}, mode="servers", server=server) as cluster:
        url = cluster.url("users")
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.get(f"{url}/users/9", timeout=5)
        assert (answer.status_code, answer.json()["id"]) == (200, 9)
        assert isinstance(cluster.targets["users"], djng.clients.HTTP)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/users/9", timeout=5)


def test_werkzeug_serves_through_djng_wsgi():
    with Cluster({"users": make_users()}, mode="servers", server="werkzeug") as cluster:
        for path in ("/where", "/awhere"):
            assert cluster["users"].get(path).json()["server"].startswith("Werkzeug/")


def test_uvicorn_serves_through_djng_asgi():
    """Under djng.asgi an async view runs on the server's event loop, a sync one on a
    djng worker thread; no werkzeug on the way."""
    require("uvicorn")
    with Cluster({"users": make_users()}, mode="servers", server="uvicorn") as cluster:
        on_loop = cluster["users"].get("/awhere").json()
        on_worker = cluster["users"].get("/where").json()
    assert on_loop == {"thread": "djng-cluster-uvicorn", "server": ""}
    assert on_worker["thread"].startswith("djng-worker") and on_worker["server"] == ""


def test_in_process_mode_has_no_server():
    with Cluster({"users": make_users()}) as cluster:
        assert isinstance(cluster.targets["users"], djng.clients.InProcess)
        assert cluster["users"].get("/where").json()["server"] == ""


# -- concurrency ----------------------------------------------------------------------------------


def test_twenty_threads_through_one_test_client(cluster_of):
    cluster = shop(cluster_of)
    client = cluster["orders"]
    results: dict[int, object] = {}

    def ask(n):
        response = client.get(f"/orders/{n}")
        results[n] = (response.status_code, response.json()["user"]["id"])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {n: (200, n) for n in range(1, 21)}
    assert len(cluster.calls) == 20
    assert sorted(call.path for call in cluster.calls) == sorted(
        f"/users/{n}" for n in range(1, 21))


def test_fifty_gathered_async_calls(cluster_of):
    cluster = shop(cluster_of)

    async def main():
        return await asyncio.gather(*(djng.clients.users.aget(f"/ausers/{n}")
                                      for n in range(1, 51)))

    answers = asyncio.run(main())
    assert [answer["id"] for answer in answers] == list(range(1, 51))
    assert len(cluster.calls) == 50
    assert sorted(call.path for call in cluster.calls) == sorted(
        f"/ausers/{n}" for n in range(1, 51))
    assert {(call.caller, call.status) for call in cluster.calls} == {(None, 200)}


def test_repr_names_the_services_and_mode():
    assert repr(Cluster({"b": make_users(), "a": make_users()}, mode="servers")) == (
        "<Cluster ['a', 'b'] mode='servers'>")
