"""Run Django's own test suite with djng's request class in place of ``WSGIRequest``.

Usage, from the root of Django's source distribution (it ships ``tests/``):
``python run_swapped.py [runtests.py options] MODULE ...``. Once Django is set up
for its tests, djng is imported (it keeps the test settings) and its request
class replaces ``WSGIRequest`` wherever Django builds requests: ``WSGIHandler``,
the test client and ``RequestFactory``, and every test that imports it.
"""

import runpy
import sys
import warnings

import django

_setup = django.setup


def setup(*args, **kwargs):
    _setup(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # djng says it keeps the host's settings
        import djng.request
    import django.core.handlers.wsgi as wsgi
    import django.test.client as client

    wsgi.WSGIRequest = djng.request.Request
    wsgi.WSGIHandler.request_class = djng.request.Request
    client.WSGIRequest = djng.request.Request
    print(f"djng: Django's tests run with {djng.request.Request!r}", file=sys.stderr)


django.setup = setup
sys.argv = ["runtests.py", *sys.argv[1:]]
sys.path.insert(0, "tests")
runpy.run_path("tests/runtests.py", run_name="__main__")
