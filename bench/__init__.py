"""djng's benchmark harness: ``python -m bench`` (see ``python -m bench --help``).

In-process mode calls each contender's WSGI callable with a prebuilt environ
and a no-op ``start_response`` (Falcon's method); ``--server`` runs each one
under gunicorn and loads it over loopback. Every contender that needs its own
Django configuration runs in its own long-lived worker process.
"""
