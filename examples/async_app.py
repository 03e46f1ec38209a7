"""Async views, a sync view with the ORM, a live stream and start-up hooks in one app.

    GET  /           a page that shows the clock stream live (server-sent events)
    GET  /quotes     asks three slow "suppliers" at once   -> {"quotes": [...], "seconds": 0.3}
    POST /notes      stores a note with the sync ORM        -> 201 {"id": ..., "text": ...}
    GET  /notes      the notes, read with the async ORM     -> [{"id": ..., "text": ...}, ...]
    GET  /clock      a stream of server-sent events, one a second (?count=N events)

Run it under werkzeug's development server (async views run to completion per
request, the stream arrives chunk by chunk) or under uvicorn:

    python examples/async_app.py             # then open http://127.0.0.1:8000/
    DJNG_SERVER=uvicorn python examples/async_app.py
    uvicorn async_app:application            # from examples/, in production
"""

import asyncio
import contextlib
import datetime
import random
import time

import djng

SUPPLIERS = ("north", "south", "east")


class Note(djng.Model):
    text = djng.models.CharField(max_length=200)


state = {"open": False}


@contextlib.asynccontextmanager
async def suppliers():
    """Start-up and shutdown: here a pool of clients to the suppliers would open."""
    state["open"] = True
    yield
    state["open"] = False


def tables():
    """Start-up: the notes table, on the database in effect (SQLite next to this file)."""
    djng.db.create_tables(Note)


async def ask(supplier: str) -> dict:
    await asyncio.sleep(0.3)  # a slow network call that holds no thread
    return {"supplier": supplier, "price": random.randint(90, 110)}


async def quotes(request):
    if not state["open"]:
        return {"error": "the suppliers are not open"}, 503
    started = time.monotonic()
    answers = await asyncio.gather(*(ask(name) for name in SUPPLIERS))
    return {"quotes": answers, "seconds": round(time.monotonic() - started, 1)}


def add_note(request):
    """A sync view: under ASGI it runs on a worker thread, whose database
    connection the next requests reuse."""
    text = request.POST.get("text", "").strip()
    if not text or len(text) > 200:
        return {"error": "text: 1 to 200 characters"}, 400
    note = Note.objects.create(text=text)
    return {"id": note.id, "text": note.text}, 201


async def list_notes(request):
    return [{"id": note.id, "text": note.text} async for note in Note.objects.order_by("id")]


async def clock(request):
    try:
        count = min(int(request.GET.get("count", 60)), 3600)
    except ValueError:
        return {"error": "count must be a number"}, 400

    async def events():
        for n in range(count):
            if n:
                await asyncio.sleep(1)
            now = datetime.datetime.now().strftime("%H:%M:%S")
            yield f"id: {n}\ndata: {now}\n\n"

    response = djng.StreamingResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


PAGE = """<!doctype html>
<title>djng async</title>
<h1>The server's clock: <span id="clock">...</span></h1>
<script>
  new EventSource("clock").onmessage = (event) => {
    document.getElementById("clock").textContent = event.data;
  };
</script>
"""

app = djng.lifespan(
    djng.Router(
        djng.path("", lambda request: PAGE),
        djng.path("quotes", quotes),
        djng.path("notes", {"GET": list_notes, "POST": djng.csrf_exempt(add_note)}),
        djng.path("clock", clock),
    ),
    suppliers,
    startup=tables,
)
application = djng.asgi(app)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
