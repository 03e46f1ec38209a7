"""examples/shop/: a users service and an orders service that calls it.

In a Cluster (in-process, and under real werkzeug and uvicorn servers on
loopback), through both adapters (the conftest runs this module's clients
through djng.wsgi and djng.asgi), and as the README runs it: two processes,
and the monolith in one process, then split.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from conftest import EXAMPLES, child_env, free_port, require, start, stop, wait_for_http

import djng
from djng.testing import Cluster, check_calls, check_contract

sys.path.insert(0, str(EXAMPLES / "shop"))
import orders  # noqa: E402
import users  # noqa: E402

SETUPS = [("in-process", "werkzeug"), ("servers", "werkzeug"), ("servers", "uvicorn")]
ADA = {"name": "Ada", "email": "ada@example.com"}
BOB = {"name": "Bob", "email": "bob@example.com"}


def databases():
    return {"users": djng.db.SQLite(":memory:"), "orders": djng.db.SQLite(":memory:")}


@pytest.fixture(params=SETUPS, ids=["in-process", "werkzeug", "uvicorn"])
def shop(request):
    if request.param[1] == "uvicorn":
        require("uvicorn")
    mode, server = request.param
    dbs = databases()
    apps = {"users": users.make_app(dbs["users"]), "orders": orders.make_app(dbs["orders"])}
    with Cluster(apps, mode=mode, server=server) as cluster:
        cluster.databases = dbs
        yield cluster


def test_an_order_carries_its_customer_from_the_users_service(shop):
    ada = shop["users"].post("/", json=ADA)
    assert ada.status_code == 201, ada.text
    placed = shop["orders"].post("/", json={"customer": ada.json()["id"], "item": "tea",
                                            "quantity": 2})
    assert placed.status_code == 201, placed.text
    assert placed.json()["customer"] == {"id": ada.json()["id"], "name": "Ada"}
    fetched = shop["orders"].get(f"/{placed.json()['id']}")
    assert fetched.json() == placed.json()
    assert [(c.caller, c.callee, c.method, c.path, c.status) for c in shop.calls] == [
        ("orders", "users", "GET", f"/{ada.json()['id']}", 200)] * 2


def test_an_order_for_a_missing_customer_is_refused_and_not_stored(shop):
    refused = shop["orders"].post("/", json={"customer": 99, "item": "tea", "quantity": 1})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "There is no customer 99"
    assert shop.calls[-1].status == 404
    assert shop["orders"].get("/").json() == []


def test_listing_orders_asks_for_each_customer_once_at_the_same_time(shop):
    ids = [shop["users"].post("/", json=who).json()["id"] for who in (ADA, BOB)]
    for customer in (ids[0], ids[1], ids[0]):
        shop["orders"].post("/", json={"customer": customer, "item": "jam", "quantity": 1})
    del shop.calls[:]
    listed = shop["orders"].get("/").json()
    assert [o["customer"]["name"] for o in listed] == ["Ada", "Bob", "Ada"]
    assert sorted(c.path for c in shop.calls) == sorted(f"/{i}" for i in ids)


def test_the_async_client_sees_the_same_shop(shop):
    async def exchange():
        users_client, orders_client = shop.async_client("users"), shop.async_client("orders")
        ada = (await users_client.post("/", json=ADA)).json()
        placed = await orders_client.post("/", json={"customer": ada["id"], "item": "tea",
                                                     "quantity": 3})
        return ada, placed, await orders_client.get("/")

    ada, placed, listed = asyncio.run(exchange())
    assert placed.status_code == 201
    assert listed.json() == [{"id": placed.json()["id"], "item": "tea", "quantity": 3,
                              "customer": {"id": ada["id"], "name": "Ada"}}]


def test_each_service_has_a_database_of_its_own(shop):
    shop["users"].post("/", json=ADA)
    shop["orders"].get("/")  # its tables are made when it starts
    tables = {}
    for name, database in shop.databases.items():
        with database.connection.cursor() as cursor:
            tables[name] = set(database.connection.introspection.table_names(cursor))
    assert "users_customer" in tables["users"] and "users_customer" not in tables["orders"]
    assert "orders_order" in tables["orders"] and "orders_order" not in tables["users"]


def test_bad_input_gets_a_clear_answer(shop):
    client = shop["orders"]
    assert client.post("/", data=b"{oops", content_type="application/json").status_code == 400
    assert client.post("/", json={"customer": "one"}).status_code == 422
    assert client.get("/12345").status_code == 404
    assert shop["users"].post("/", json={"name": "No email"}).status_code == 422
    shop["users"].post("/", json=ADA)
    assert shop["users"].post("/", json=ADA).status_code == 409


def test_orders_answers_502_when_users_is_down():
    dbs = databases()
    down = djng.clients.HTTP(f"http://127.0.0.1:{free_port()}", retries=0)
    app = djng.reconfigure(orders.make_app(dbs["orders"]), clients={"users": down})
    with djng.testing.Client(app, raise_exceptions=False) as client:
        answer = client.post("/", json={"customer": 1, "item": "tea", "quantity": 1},
                             headers={"Accept": "application/json"})
    assert answer.status_code == 502, answer.text
    assert "127.0.0.1" not in answer.text


# -- the contracts ----------------------------------------------------------------------------


def test_each_service_keeps_its_published_contract(shop):
    """schemathesis against each service's /openapi.json: in-process through the
    service's own callable, or over HTTP to its server."""
    shop["users"].post("/", json=ADA)  # so that some generated orders find a customer
    for name in ("users", "orders"):
        target = shop.app(name) if shop.mode == "in-process" else shop.url(name)
        assert check_contract(target, max_examples=10, seed=1) == 3


def test_orders_calls_users_only_as_users_contract_allows(shop):
    ada = shop["users"].post("/", json=ADA).json()
    shop["orders"].post("/", json={"customer": ada["id"], "item": "tea", "quantity": 1})
    shop["orders"].post("/", json={"customer": 404, "item": "tea", "quantity": 1})
    shop["orders"].get("/")
    assert check_calls(shop.calls, {"users": users.router}) == 3
    published = shop["users"].get("/openapi.json").json()
    assert check_calls(shop.calls, {"users": published}) == 3


# -- as the README runs it --------------------------------------------------------------------


def serve(script, tmp_path, **env):
    port = free_port()
    proc = start([sys.executable, str(EXAMPLES / "shop" / script)], cwd=EXAMPLES / "shop",
                 env=child_env(PORT=str(port), SHOP_USERS_DB=str(tmp_path / "users.sqlite3"),
                               SHOP_ORDERS_DB=str(tmp_path / "orders.sqlite3"), **env))
    url = f"http://127.0.0.1:{port}"
    return proc, url


def wait(proc, url):
    status, _, body = wait_for_http(url + "/", proc)
    assert status == 200, body


def test_two_processes(tmp_path):
    """users under werkzeug, orders under uvicorn calling it over HTTP."""
    import httpx

    require("uvicorn")
    users_proc, users_url = serve("users.py", tmp_path)
    orders_proc, orders_url = serve("orders.py", tmp_path, DJNG_SERVICE_USERS_URL=users_url,
                                    DJNG_SERVER="uvicorn")
    try:
        wait(users_proc, users_url)
        wait(orders_proc, orders_url)
        ada = httpx.post(users_url + "/", json=ADA, timeout=10).json()
        placed = httpx.post(orders_url + "/", json={"customer": ada["id"], "item": "tea",
                                                    "quantity": 2}, timeout=10)
        assert placed.status_code == 201, placed.text
        listed = httpx.get(orders_url + "/", timeout=10).json()
        assert listed[0]["customer"] == {"id": ada["id"], "name": "Ada"}
    finally:
        stop(orders_proc)
        stop(users_proc)


def test_the_monolith_then_split_by_one_variable(tmp_path):
    import httpx

    whole, whole_url = serve("monolith.py", tmp_path)
    try:
        wait(whole, whole_url + "/users")
        ada = httpx.post(whole_url + "/users/", json=ADA, timeout=10).json()
        placed = httpx.post(whole_url + "/orders/", json={"customer": ada["id"], "item": "tea",
                                                          "quantity": 1}, timeout=10)
        assert placed.status_code == 201, placed.text
    finally:
        stop(whole)
    # The same databases: users now runs on its own, the monolith forwards to it.
    users_proc, users_url = serve("users.py", tmp_path)
    split, split_url = serve("monolith.py", tmp_path, DJNG_SERVICE_USERS_URL=users_url)
    try:
        wait(users_proc, users_url)
        wait(split, split_url + "/users")
        assert httpx.get(split_url + "/users/", timeout=10).json() == [ada]
        listed = httpx.get(split_url + "/orders/", timeout=10).json()
        assert listed[0]["customer"] == {"id": ada["id"], "name": "Ada"}
        assert httpx.get(users_url + f"/{ada['id']}", timeout=10).json() == ada
    finally:
        stop(split)
        stop(users_proc)
