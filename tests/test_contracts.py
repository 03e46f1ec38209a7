"""djng.testing.check_contract (schemathesis against an app's own OpenAPI) and
check_calls (a Cluster's recorded calls against the callee's document)."""

from __future__ import annotations

import sys
import textwrap

import msgspec
import pytest
from conftest import free_port, require, start, stop, wait_for_http

import djng
from djng.testing import Cluster, ContractBroken, Recorded, check_calls, check_contract


class Pet(msgspec.Struct):
    id: int
    name: str


class NewPet(msgspec.Struct):
    name: str


def pet(request, id: int) -> Pet:
    if id > 100:
        raise djng.Http404(f"No pet {id}")
    return Pet(id, "Rex")


def add(request, new: NewPet, tag: str = "") -> Pet:
    return Pet(1, new.name), 201


def pets(request, limit: int = 10) -> list[Pet]:
    return [Pet(i, "Rex") for i in range(min(max(limit, 0), 5))]


api = djng.Router(
    djng.path("pets", {"GET": pets, "POST": add}),
    djng.path("pets/<int:id>", pet),
)
site = djng.Router(djng.path("openapi.json", djng.openapi(api)), djng.mount("", api))


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_a_typed_app_keeps_its_contract(adapter):
    require("schemathesis", extra="test")
    assert check_contract(site, adapter=adapter, max_examples=15, seed=3) == 3


def test_an_app_that_breaks_its_contract_is_named():
    """The view answers a body its annotation does not allow: schemathesis sees the 500."""
    require("schemathesis", extra="test")

    def liar(request, id: int) -> Pet:
        return {"id": "not a number", "name": 3}

    broken = djng.Router(djng.path("pets/<int:id>", liar))
    app = djng.Router(djng.path("openapi.json", djng.openapi(broken)), djng.mount("", broken))
    named = r"(?s)1 of 1 operations.*GET /pets/\{id\}.*Server error"
    with pytest.raises(ContractBroken, match=named):
        check_contract(app, max_examples=5, seed=1)


def test_an_undocumented_status_breaks_the_contract():
    require("schemathesis", extra="test")

    def moody(request, id: int) -> Pet:
        raise djng.Problem(409, "not today")  # 409 is not declared (@djng.answers)

    app = djng.Router(djng.path("openapi.json", djng.openapi(djng.Router(
        djng.path("pets/<int:id>", moody)))), djng.path("pets/<int:id>", moody))
    with pytest.raises(ContractBroken, match="409"):
        check_contract(app, max_examples=5, seed=1)
    app = djng.Router(djng.path("openapi.json", djng.openapi(djng.Router(
        djng.path("pets/<int:id>", djng.answers(409)(moody))))),
        djng.path("pets/<int:id>", moody))
    assert check_contract(app, max_examples=5, seed=1) == 1


CALLEE = textwrap.dedent('''
    import msgspec
    import djng

    class Pet(msgspec.Struct):
        id: int
        name: str

    def pet(request, id: int) -> Pet:
        return Pet(id, "Rex")

    api = djng.Router(djng.path("pets/<int:id>", pet))
    application = djng.asgi(djng.Router(djng.path("openapi.json", djng.openapi(api)),
                                        djng.mount("", api)))
''')


def test_the_contract_of_a_real_server(tmp_path):
    require("schemathesis", "uvicorn", extra="test")
    (tmp_path / "petstore.py").write_text(CALLEE)
    port = free_port()
    proc = start([sys.executable, "-m", "uvicorn", "petstore:application", "--port", str(port),
                  "--no-access-log", "--app-dir", str(tmp_path)], cwd=tmp_path)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/openapi.json", proc)
        assert check_contract(f"http://127.0.0.1:{port}", max_examples=10, seed=2) == 1
    finally:
        stop(proc)


# -- a consumer against its provider's contract --------------------------------------------------


def consumer(request):
    """Calls pets as the contract allows, then as it does not."""
    djng.clients.pets.get("/pets/3", type=Pet)
    djng.clients.pets.post("/pets", json={"name": "Tom"})
    if request.GET.get("stray"):
        djng.clients.pets.get("/cats/3")
    return {"ok": True}


def test_calls_made_as_the_contract_allows_pass():
    require("jsonschema_rs", extra="test")
    shop = djng.Router(djng.path("", consumer))
    with Cluster({"pets": api, "shop": shop}) as cluster:
        assert cluster["shop"].get("/").status_code == 200
        assert check_calls(cluster.calls, {"pets": api}) == 2
    assert [(c.callee, c.method, c.path, c.status) for c in cluster.calls] == [
        ("pets", "GET", "/pets/3", 200), ("pets", "POST", "/pets", 201)]


def test_a_call_outside_the_contract_is_named():
    require("jsonschema_rs", extra="test")
    shop = djng.Router(djng.path("", consumer))
    with Cluster({"pets": api, "shop": shop}) as cluster:
        cluster["shop"].get("/", query={"stray": "1"})
    with pytest.raises(ContractBroken, match=r"shop -> pets: GET /cats/3: no such operation"):
        check_calls(cluster.calls, {"pets": api})


def test_bodies_and_statuses_are_checked_against_the_schemas():
    require("jsonschema_rs", extra="test")
    from djng.openapi import document as make_document

    doc = make_document(api)
    good = Recorded("shop", "pets", "POST", "/pets", 201, b'{"name": "Tom"}', "application/json",
                    b'{"id": 1, "name": "Tom"}', "application/json")
    assert check_calls([good], {"pets": doc}) == 1
    bad_sent = Recorded("shop", "pets", "POST", "/pets", 201, b'{"name": 7}', "application/json",
                        b'{"id": 1, "name": "Tom"}', "application/json")
    bad_answer = Recorded("shop", "pets", "GET", "/pets/1", 200, None, None,
                          msgspec.msgpack.encode({"id": "one"}), "application/msgpack")
    unlisted = Recorded("shop", "pets", "GET", "/pets/1", 418)
    with pytest.raises(ContractBroken) as caught:
        check_calls([bad_sent, bad_answer, unlisted], {"pets": doc})
    report = str(caught.value)
    assert "3 calls broke" in report
    assert "the body sent does not match" in report
    assert "the body answered does not match" in report
    assert "answered 418, which the contract does not list" in report
    # A service not named is not checked.
    assert check_calls([unlisted], {"others": doc}) == 0


def test_without_schemathesis_says_what_to_install(monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: (
        (_ for _ in ()).throw(ImportError(name)) if name == "schemathesis" else real(name, *a)))
    with pytest.raises(ImportError, match=r"pip install 'djng\[contracts\]'"):
        check_contract(site)
