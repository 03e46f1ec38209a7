"""The travel search: results pushed to the page as each provider answers.

``POST /search`` takes a query and answers a task id; the page then listens on
a websocket (``/ws/tasks/<id>``), or server-sent events (``/tasks/<id>/events``)
where websockets are not available, and the search starts once it listens: the
worker asks five fake providers at once, each answering after a random delay,
and each answer reaches the page as it comes, then "done".

    python examples/search/app.py                  # one process: djng.pubsub.Memory
    DJNG_PUBSUB_URL=redis://127.0.0.1:6379/0 python examples/search/app.py
                                                   # the worker in its own process, over Redis

Then open http://127.0.0.1:8000/ (served by uvicorn: websockets need djng.asgi).
"""

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import worker

import djng

HERE = Path(__file__).resolve().parent
PAGE = (HERE / "page.html").read_text()
_ids = itertools.count(int(time.time() * 1000) % 10**9)


class Search(msgspec.Struct):
    query: str


class Started(msgspec.Struct):
    task: int


def page(request):
    return djng.Response(PAGE)


def start(request, search: Search) -> Started:
    """A task for ``search``: it runs once the page listens for its results."""
    task = next(_ids)
    djng.cache.set(f"search.{task}", search.query, timeout=600)
    return Started(task), 201


def query_of(id):
    query = djng.cache.get(f"search.{id}")
    if query is None:
        raise djng.Http404(f"No search {id}")
    return query


@contextlib.asynccontextmanager
async def results(id, query):
    """The search's answers, listening before the job is sent (so none is missed)."""
    async with djng.pubsub.subscribe(f"search.{id}") as messages:
        if djng.cache.add(f"search.{id}.started", True, timeout=600):  # once, not per tab
            await djng.pubsub.apublish("search.jobs", {"id": id, "query": query})
        yield messages


async def until_done(messages):
    async for message in messages:
        yield message.data if not message.missed else {"missed": True}
        if not message.missed and message.data.get("done"):
            return


async def over_websocket(ws, id):
    query = djng.cache.get(f"search.{id}")
    if query is None:
        await ws.close(code=4404)  # before accepting: the handshake is refused
        return
    await ws.accept()
    async with results(id, query) as messages:
        async for data in until_done(messages):
            await ws.send_json(data)
    await ws.close()


async def over_sse(request, id):
    query = query_of(id)

    async def events():
        async with results(id, query) as messages:
            async for data in until_done(messages):
                yield djng.sse.Event(data, event="done" if data.get("done") else "result")

    return djng.sse(events(), heartbeat=10)


@contextlib.asynccontextmanager
async def the_worker():
    """In one process, the worker is a task here; over Redis, a process of its own."""
    if isinstance(djng.pubsub.current(), djng.pubsub.Memory):
        jobs = djng.pubsub.subscribe("search.jobs")
        await jobs.listen()
        task = asyncio.create_task(worker.serve(jobs))
        yield
        task.cancel()
        return
    process = subprocess.Popen([sys.executable, str(HERE / "worker.py")], cwd=HERE,
                               stdout=subprocess.PIPE, text=True)
    try:
        ready = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        if "listening" not in ready:
            raise RuntimeError(f"The search worker did not start: {ready!r}")
        yield
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


app = djng.lifespan(djng.Router(
    djng.path("", page),
    djng.path("search", start, methods=["POST"]),
    djng.path("tasks/<int:id>/events", over_sse),
    djng.websocket("ws/tasks/<int:id>", over_websocket),
), the_worker)
application = djng.asgi(app)  # uvicorn app:application, from examples/search/

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8000)), server="uvicorn")
