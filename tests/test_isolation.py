"""Pushed services never leak: across threads, asyncio tasks, pooled worker threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache as django_cache
from django.core.mail import send_mail
from werkzeug.test import EnvironBuilder

import djng

#: Seconds a thread may take before the test gives up: a guard, not a timing assertion.
WAIT = 30

POOL = 64
caches = [djng.cache.LocMem(f"isolation-{n}") for n in range(POOL)]
outboxes = [djng.mail.Memory() for _ in range(POOL)]
DEFAULT_CACHE = djng.cache.LocMem("isolation-default")
DEFAULT_MAIL = djng.mail.Memory()


def own_services(request):
    """Push this request's own cache and mail, then check every read is its own."""
    n = int(request.GET["n"])
    seen_default = djng.cache.current() is DEFAULT_CACHE and djng.mail.current() is DEFAULT_MAIL
    if request.GET.get("push") == "1":
        djng.cache.push(caches[n])
        djng.mail.push(outboxes[n])
        django_cache.set("owner", n)
        # Give other threads a chance to run between the push and the reads.
        for _ in range(3):
            threading.Event().wait(0)
            assert djng.cache.current() is caches[n]
        send_mail("hi", "body", "a@example.com", [f"{n}@example.com"])
        mine = django_cache.get("owner") == n and djng.mail.current() is outboxes[n]
    else:
        mine = True
    if request.GET.get("fail") == "1":
        raise RuntimeError("boom after push")
    return {"n": n, "mine": mine, "seen_default": seen_default}


app = djng.Router(djng.path("", own_services))


@pytest.fixture(autouse=True)
def defaults():
    djng.cache.configure(DEFAULT_CACHE)
    djng.mail.configure(DEFAULT_MAIL)
    for outbox in outboxes:
        outbox.clear()
    DEFAULT_MAIL.clear()
    yield
    djng.cache.reset()
    djng.mail.reset()


def call(handler, query: str) -> tuple[str, bytes]:
    environ = EnvironBuilder(path="/", query_string=query).get_environ()
    status: list[str] = []
    body = handler(environ, lambda s, h, exc_info=None: status.append(s))
    try:
        return status[0], b"".join(body)
    finally:
        body.close()


def check(status: str, body: bytes, n: int) -> None:
    import json

    assert status.startswith("200"), (status, body)
    data = json.loads(body)
    assert data == {"n": n, "mine": True, "seen_default": True}


def test_32_threads_hundreds_of_requests_each():
    handler = djng.wsgi(app)
    threads_count, per_thread = 32, 200
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def worker(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                n = (t * per_thread + i) % POOL
                status, body = call(handler, f"n={n}&push=1")
                check(status, body, n)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    # Every message went to the outbox its own request pushed, none to the default.
    total = threads_count * per_thread
    assert sum(len(o.outbox) for o in outboxes) == total
    for n, outbox in enumerate(outboxes):
        assert {m.to[0] for m in outbox.outbox} <= {f"{n}@example.com"}
    assert DEFAULT_MAIL.outbox == []
    # The defaults are intact afterwards, here and in a new thread.
    assert djng.cache.current() is DEFAULT_CACHE
    seen = []
    thread = threading.Thread(target=lambda: seen.append(djng.cache.current()))
    thread.start()
    thread.join()
    assert seen == [DEFAULT_CACHE]


def test_pooled_worker_threads_reused_across_requests():
    """A worker thread that served a pushing request serves the next one clean."""
    handler = djng.wsgi(app)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(call, handler, f"n={i % POOL}&push={i % 2}") for i in range(400)
        ]
        for i, future in enumerate(futures):
            check(*future.result(), i % POOL)
    assert djng.cache.current() is DEFAULT_CACHE


def test_an_exception_in_the_view_leaves_no_push_behind():
    handler = djng.wsgi(app)
    with ThreadPoolExecutor(max_workers=1) as pool:
        status, _ = pool.submit(call, handler, "n=5&push=1&fail=1").result()
        assert status.startswith("500")
        check(*pool.submit(call, handler, "n=6").result(), 6)


def test_asyncio_tasks_are_isolated():
    async def scoped(n: int) -> bool:
        with djng.cache.use(caches[n]), djng.mail.use(outboxes[n]):
            for _ in range(5):
                await asyncio.sleep(0)
                if djng.cache.current() is not caches[n] or djng.mail.current() is not outboxes[n]:
                    return False
        return djng.cache.current() is DEFAULT_CACHE

    async def via_worker_threads(handler, n: int) -> tuple[str, bytes]:
        return await asyncio.to_thread(call, handler, f"n={n}&push=1")

    async def main() -> None:
        handler = djng.wsgi(app)
        results = await asyncio.gather(*(scoped(n % POOL) for n in range(300)))
        assert all(results)
        responses = await asyncio.gather(
            *(via_worker_threads(handler, n % POOL) for n in range(300))
        )
        for n, (status, body) in enumerate(responses):
            check(status, body, n % POOL)

    asyncio.run(main())
    assert djng.cache.current() is DEFAULT_CACHE
    assert djng.mail.current() is DEFAULT_MAIL


def test_streaming_body_sees_the_request_services_after_the_view_returned():
    pushed = djng.cache.LocMem("streaming")

    def stream(request):
        djng.cache.push(pushed)

        def body():
            yield djng.cache.current().name.encode()
            yield b"|"
            yield django_cache._wrapped.name.encode()

        return djng.StreamingResponse(body())

    handler = djng.wsgi(stream)
    environ = EnvironBuilder(path="/").get_environ()
    chunks = handler(environ, lambda *a: None)
    assert djng.cache.current() is DEFAULT_CACHE  # the view returned; nothing leaked
    assert b"".join(chunks) == b"streaming|streaming"
    chunks.close()
    assert djng.cache.current() is DEFAULT_CACHE


def test_test_client_runs_in_a_copy_of_the_callers_context():
    mine = djng.cache.LocMem("caller")

    def view(request):
        seen = djng.cache.current().name
        djng.mail.push(outboxes[0])  # must not leak back to the test
        return seen

    client = djng.testing.Client(view)
    with djng.cache.use(mine):
        assert client.get("/").text == "caller"
    assert client.get("/").text == "isolation-default"
    assert djng.mail.current() is DEFAULT_MAIL


def test_threads_a_view_starts_see_the_process_defaults_unless_given_the_context():
    """A new thread starts with an empty context; djng.copy_current_context carries it."""
    pushed = djng.cache.LocMem("pushed-for-the-request")
    seen = {}

    def look(name):
        seen[name] = djng.cache.current()

    def view(request):
        djng.cache.push(pushed)
        plain = threading.Thread(target=look, args=("plain",))
        carried = threading.Thread(target=djng.copy_current_context(look), args=("carried",))
        for thread in (plain, carried):
            thread.start()
            thread.join(WAIT)
        with ThreadPoolExecutor(2) as pool:
            pool.submit(djng.copy_current_context(look), "pooled").result(WAIT)
            pool.submit(look, "pooled plain").result(WAIT)
        return "ok"

    assert djng.testing.Client(view).get("/").text == "ok"
    assert seen["carried"] is pushed and seen["pooled"] is pushed
    assert seen["plain"] is not pushed and seen["pooled plain"] is not pushed


def test_each_call_of_a_carried_function_has_its_own_copy():
    def push_and_count():
        djng.cache.push(djng.cache.Dummy())
        return len(djng.cache._stack.get())

    def view(request):
        bound = djng.copy_current_context(push_and_count)
        return {"first": bound(), "second": bound(), "here": len(djng.cache._stack.get())}

    assert djng.testing.Client(view).get("/").json() == {"first": 1, "second": 1, "here": 0}
