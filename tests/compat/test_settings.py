"""djng.settings: settings for packages, the warning when one comes too late, scopes."""

from __future__ import annotations


def test_settings_for_the_process_and_the_warning_when_too_late(check):
    check("""
    import warnings
    from django.conf import settings
    djng.settings(MY_PACKAGE_COLOR="blue", MY_PACKAGE_SIZE=3)
    assert (settings.MY_PACKAGE_COLOR, settings.MY_PACKAGE_SIZE) == ("blue", 3)
    assert getattr(settings, "MY_PACKAGE_MODE", "default") == "default"  # a package looks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        djng.settings(MY_PACKAGE_MODE="fast")  # after it was looked at: warned
        djng.settings(MY_PACKAGE_COLOR="blue")  # read, but the same value: fine
        djng.settings(MY_OTHER_SETTING=1)  # never read: fine
    assert [type(w.message) for w in caught] == [djng.settings.AlreadyRead], caught
    assert issubclass(djng.settings.AlreadyRead, UserWarning)
    assert "MY_PACKAGE_MODE" in str(caught[0].message)
    assert "before importing" in str(caught[0].message)
    assert caught[0].filename.endswith("check.py")  # points at the call, not at djng
    assert settings.MY_PACKAGE_MODE == "fast"
    """)


def test_settings_djng_manages_or_that_are_not_settings_are_refused(check):
    check("""
    def error_of(call):
        try:
            call()
        except TypeError as exc:
            return str(exc)
        raise AssertionError("accepted")
    assert "djng.debug.configure(True)" in error_of(lambda: djng.settings(DEBUG=True))
    assert "djng.install(" in error_of(lambda: djng.settings(INSTALLED_APPS=[]))
    assert "djng.middleware(" in error_of(lambda: djng.settings(MIDDLEWARE=[]))
    assert "UPPER_CASE" in error_of(lambda: djng.settings(cors_origins=[]))
    assert "needs settings" in error_of(lambda: djng.settings())
    view = lambda request: "x"
    assert "read once" in error_of(lambda: djng.reconfigure(view, settings={"TIME_ZONE": "UTC"}))
    assert "read once" in error_of(
        lambda: djng.reconfigure(view, settings={"SECURE_HSTS_SECONDS": 60}))
    def use_templates():
        with djng.settings.use({"TEMPLATES": []}):
            pass
    assert "djng.templates" in error_of(use_templates)
    """)


def test_a_scope_changes_a_setting_for_part_of_an_app_and_one_request(check):
    check("""
    from django.conf import settings
    djng.settings(GREETING="hello")
    def greet(request):
        if request.GET.get("shout"):
            djng.settings.push({"GREETING": settings.GREETING.upper()})  # this request only
        return settings.GREETING
    site = djng.Router(
        djng.path("", greet),
        djng.mount("fr", djng.reconfigure(djng.Router(djng.path("", greet)),
                                          settings={"GREETING": "bonjour"})),
    )
    client = Client(site)
    assert client.get("/").content == b"hello"
    assert client.get("/fr/").content == b"bonjour"
    assert client.get("/fr/?shout=1").content == b"BONJOUR"
    assert client.get("/fr/").content == b"bonjour"
    assert client.get("/").content == b"hello"
    assert settings.GREETING == "hello"
    with djng.settings.use({"GREETING": "hi"}):
        assert settings.GREETING == "hi"
        assert client.get("/fr/").content == b"bonjour"  # the inner scope wins
    assert settings.GREETING == "hello"
    djng.settings(GREETING="hey")  # a scoped name still follows the process value
    assert client.get("/").content == b"hey"
    """)


def test_scopes_in_threads_and_tasks_do_not_mix(check):
    check("""
    import asyncio, threading
    from django.conf import settings
    djng.settings(WORKER="none")
    barrier = threading.Barrier(8)
    seen = {}
    def work(n):
        with djng.settings.use({"WORKER": n}):
            barrier.wait()
            seen[n] = [settings.WORKER for _ in range(1000)]
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    assert all(values == [n] * 1000 for n, values in seen.items()), seen
    async def task(n):
        with djng.settings.use({"WORKER": n}):
            await asyncio.sleep(0.01)
            return settings.WORKER
    async def main():
        return await asyncio.gather(*(task(n) for n in range(8)))
    assert asyncio.run(main()) == list(range(8))
    assert settings.WORKER == "none"
    """)
