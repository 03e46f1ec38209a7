"""examples/search/: a search whose results are pushed to the page as each
provider answers; in-process (djng.pubsub.Memory, the worker a task) and as the
README runs it under uvicorn, with Memory and with Redis across processes (the
worker a process of its own), checked in a real headless browser from its DOM.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest
from conftest import EXAMPLES, child_env, free_port, server_url, start, stop, wait_for_http

import djng
from djng.testing import AsyncClient

sys.path.insert(0, str(EXAMPLES / "search"))
os.environ.setdefault("SEARCH_SLOWEST", "0.3")
import app as search_app  # noqa: E402
import worker  # noqa: E402

worker.SLOWEST = 0.3


def test_results_arrive_over_server_sent_events():
    async def exchange():
        async with AsyncClient(search_app.app) as client:
            task = (await client.post("/search", json={"query": "Lisbon"})).json()["task"]
            return await client.get(f"/tasks/{task}/events")

    with djng.pubsub.use(djng.pubsub.Memory()), djng.cache.use(djng.cache.LocMem()):
        stream = asyncio.run(asyncio.wait_for(exchange(), 20))
    assert stream["Content-Type"] == "text/event-stream"
    assert stream.text.count("event: result\n") == len(worker.PROVIDERS)
    assert stream.text.count("event: done\n") == 1
    assert '"to":"Lisbon"' in stream.text


def test_results_arrive_over_a_websocket():
    async def exchange():
        async with AsyncClient(search_app.app) as client:
            task = (await client.post("/search", json={"query": "Porto"})).json()["task"]
            async with client.websocket_connect(f"/ws/tasks/{task}") as ws:
                received = []
                while not received or not received[-1].get("done"):
                    received.append(await ws.receive_json())
                return received

    with djng.pubsub.use(djng.pubsub.Memory()), djng.cache.use(djng.cache.LocMem()):
        received = asyncio.run(asyncio.wait_for(exchange(), 20))
    providers = [message["provider"] for message in received[:-1]]
    assert sorted(providers) == sorted(worker.PROVIDERS)
    assert received[-1] == {"done": True, "providers": len(worker.PROVIDERS)}
    assert all(f["to"] == "Porto" for m in received[:-1] for f in m["flights"])


def test_an_unknown_search_is_404_and_a_bad_query_422():
    async def exchange():
        async with AsyncClient(search_app.app, raise_exceptions=False) as client:
            return (await client.get("/tasks/1/events"),
                    await client.post("/search", json={"query": 3}))

    with djng.pubsub.use(djng.pubsub.Memory()), djng.cache.use(djng.cache.LocMem()):
        missing, bad = asyncio.run(exchange())
    assert missing.status_code == 404
    assert bad.status_code == 422


# -- as the README runs it, in a real browser -----------------------------------------------


@pytest.fixture
def served(request):
    """``python examples/search/app.py`` (uvicorn), on Memory or on the test Redis."""
    port = free_port()
    extra = {}
    if request.param == "redis":
        extra["DJNG_PUBSUB_URL"] = server_url("DJNG_TEST_REDIS_URL", "Redis",
                                              "redis://127.0.0.1:6379/0")
    proc = start([sys.executable, str(EXAMPLES / "search" / "app.py")],
                 env=child_env(PORT=str(port), SEARCH_SLOWEST="1.0", **extra))
    try:
        status, _, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)
        assert status == 200, body
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.mark.parametrize(("served", "transport"), [
    ("memory", "websocket"), ("memory", "sse"), ("redis", "websocket"), ("redis", "sse"),
], indirect=["served"], ids=["memory-websocket", "memory-sse", "redis-websocket", "redis-sse"])
def test_the_page_shows_each_result_as_it_arrives(served, transport):
    from browser import Browser

    with Browser() as browser:
        browser.open(f"{served}/?q=Lisbon&transport={transport}")
        browser.wait_for("document.getElementById('status')?.dataset.state")
        browser.evaluate("window.sameDocument = true")  # gone if the page reloaded
        counts = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            count = browser.evaluate("document.querySelectorAll('.provider').length")
            if not counts or counts[-1] != count:
                counts.append(count)
            if browser.evaluate("document.getElementById('status').dataset.state") == "done":
                break
            time.sleep(0.02)
        final = browser.evaluate("document.querySelectorAll('.provider').length")
        status = browser.evaluate("document.getElementById('status').textContent")
        assert browser.evaluate("window.sameDocument") is True
        assert browser.evaluate("document.getElementById('status').dataset.transport") == (
            transport)
    assert status == f"done: {len(worker.PROVIDERS)} providers answered"
    assert final == len(worker.PROVIDERS)
    # Results came one by one: the page showed some before it showed all.
    assert any(0 < count < len(worker.PROVIDERS) for count in counts), counts
