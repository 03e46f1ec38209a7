"""examples/async_app.py: async views, a sync ORM view, a stream and lifespan hooks,
under both adapters (the conftest runs this module through djng.wsgi and djng.asgi)."""

from __future__ import annotations

from conftest import load_example

import djng

example = load_example("async_app")


def test_the_example_answers(tmp_path):
    djng.db.configure(djng.db.SQLite(str(tmp_path / "notes.sqlite3")))
    with djng.testing.Client(example.app) as client:  # start-up: tables, the suppliers
        page = client.get("/")
        assert b"EventSource" in page.content
        quotes = client.get("/quotes").json()
        assert [q["supplier"] for q in quotes["quotes"]] == ["north", "south", "east"]
        created = client.post("/notes", data={"text": "buy milk"})
        assert created.status_code == 201
        assert client.post("/notes", data={"text": ""}).status_code == 400
        assert client.get("/notes").json() == [{"id": created.json()["id"], "text": "buy milk"}]
        stream = client.get("/clock", query={"count": 2})
        assert stream["Content-Type"] == "text/event-stream"
        assert stream.text.count("data: ") == 2 and "id: 1\n" in stream.text
        assert client.get("/clock", query={"count": "x"}).status_code == 400
    assert example.state["open"] is False  # shut down at the end of the block
