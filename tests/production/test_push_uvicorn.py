"""Push at the size the issue names: one uvicorn worker, 200 server-sent-event
clients and 200 websocket clients of the same channels, messages published by
another process over Redis; each client receives every message, in order per
channel, and when they leave the worker unsubscribes (PUBSUB NUMSUB back to 0)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import uuid

from conftest import TIMEOUT, free_port, require, start, stop, wait_for_http

from production.conftest import service_env

APP = textwrap.dedent('''
    import djng

    async def events(request, channel):
        return djng.sse(djng.pubsub.subscribe(channel, channel + ".other"), heartbeat=5)

    async def passing_on(ws, channel):
        await ws.accept()
        async with djng.pubsub.subscribe(channel, channel + ".other") as messages:
            await ws.send_json({"listening": True})
            async for message in messages:
                await ws.send_json({"channel": message.channel, "data": message.data})

    application = djng.asgi(djng.Router(
        djng.path("ping", lambda request: "ok"),
        djng.path("events/<str:channel>", events),
        djng.websocket("ws/<str:channel>", passing_on),
    ))
''')

PUBLISHER = textwrap.dedent('''
    import sys
    import djng
    channel, count = sys.argv[1], int(sys.argv[2])
    for n in range(count):
        djng.pubsub.publish(channel, {"n": n})
        djng.pubsub.publish(channel + ".other", n)
''')

CLIENTS = 200
MESSAGES = 20


async def sse_client(port: int, channel: str, ready: asyncio.Event, count: list) -> list:
    """A raw SSE client: the (channel, data) of each event until it has ``MESSAGES`` × 2."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /events/{channel} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 200"), head
    received: list = []
    buffer = b""
    try:
        while len(received) < 2 * MESSAGES:
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)  # chunk size
            if not line.strip():
                continue
            size = int(line.strip(), 16)
            buffer += await asyncio.wait_for(reader.readexactly(size + 2), TIMEOUT)
            if not ready.is_set():  # its first byte: it listens
                count[0] += 1
                if count[0] == CLIENTS:
                    ready.set()
            *events, buffer = buffer.replace(b"\r\n", b"").split(b"\n\n")
            for event in events:
                fields = dict(line.split(": ", 1) for line in event.decode().split("\n")
                              if not line.startswith(":") and ": " in line)
                if "data" in fields:
                    received.append((fields.get("event"), json.loads(fields["data"])))
    finally:
        writer.close()
    return received


async def ws_client(port: int, channel: str, ready: asyncio.Event, count: list) -> list:
    from websockets.asyncio.client import connect

    received: list = []
    async with connect(f"ws://127.0.0.1:{port}/ws/{channel}", open_timeout=TIMEOUT) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) == {"listening": True}
        count[0] += 1
        if count[0] == CLIENTS:
            ready.set()
        while len(received) < 2 * MESSAGES:
            message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            received.append((message["channel"], message["data"]))
    return received


def test_two_hundred_sse_and_two_hundred_websocket_clients(tmp_path, redis_url):
    require("uvicorn", "websockets", "redis")
    import redis

    (tmp_path / "pushapp.py").write_text(APP)
    port = free_port()
    proc = start([sys.executable, "-m", "uvicorn", "pushapp:application", "--port", str(port),
                  "--no-access-log", "--backlog", "2048", "--app-dir", str(tmp_path)],
                 cwd=tmp_path, env=service_env(DJNG_PUBSUB_URL=redis_url))
    channel = f"push-{uuid.uuid4().hex[:8]}"
    numsub = redis.Redis.from_url(redis_url, socket_timeout=TIMEOUT)

    async def main():
        sse_ready, ws_ready = asyncio.Event(), asyncio.Event()
        sse_count, ws_count = [0], [0]
        clients = [asyncio.create_task(sse_client(port, channel, sse_ready, sse_count))
                   for _ in range(CLIENTS)]
        clients += [asyncio.create_task(ws_client(port, channel, ws_ready, ws_count))
                    for _ in range(CLIENTS)]
        await asyncio.wait_for(asyncio.gather(sse_ready.wait(), ws_ready.wait()), 60)
        published = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", PUBLISHER, channel, str(MESSAGES)],
            env=service_env(DJNG_PUBSUB_URL=redis_url), capture_output=True, text=True,
            timeout=TIMEOUT)
        assert published.returncode == 0, published.stderr
        return await asyncio.wait_for(asyncio.gather(*clients), 60)

    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", proc)
        received = asyncio.run(main())
        assert len(received) == 2 * CLIENTS
        for events in received:
            assert [data for name, data in events if name == channel] == [
                {"n": n} for n in range(MESSAGES)]
            assert [data for name, data in events if name == channel + ".other"] == list(
                range(MESSAGES))
        # Everyone has left: the worker no longer listens.
        for _ in range(200):
            counts = dict(numsub.pubsub_numsub(channel, channel + ".other"))
            if not any(counts.values()):
                break
            asyncio.run(asyncio.sleep(0.05))
        assert not any(counts.values()), counts
    finally:
        numsub.close()
        stop(proc)
