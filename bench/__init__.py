"""djng's benchmark harness: ``python -m bench`` (see ``python -m bench --help``).

In-process mode calls each contender's WSGI callable with a prebuilt environ
and a no-op ``start_response`` (Falcon's method), and each ASGI contender
(``djng.asgi``, Django's ``ASGIHandler``, Starlette) with a prebuilt scope and
the bench's own ``receive`` and ``send`` on one event loop; ``--server`` runs
each one under gunicorn and granian (WSGI) or uvicorn (ASGI) and loads it over
loopback with wrk. Every contender that needs its own Django configuration runs
in its own long-lived worker process.
"""
