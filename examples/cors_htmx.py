"""Django packages for the front end, in one file: CORS, htmx, WhiteNoise, the debug toolbar.

- ``/api/time`` is a JSON API that pages on https://app.example may call
  (django-cors-headers; other origins get no CORS headers, preflights are answered);
- ``/`` is a page that swaps in a fragment with htmx (django-htmx: its middleware
  gives ``request.htmx``, its template tag loads htmx, served as a static file);
- static files are served by WhiteNoise, from the installed apps' ``static/``;
- in development (``python examples/cors_htmx.py``, debugging on) Django's debug
  toolbar appears on the page for requests from 127.0.0.1.

    pip install django-cors-headers django-htmx whitenoise django-debug-toolbar
    python examples/cors_htmx.py           # http://127.0.0.1:8000/
"""

import datetime

import djng


def show_toolbar(request):
    """The debug toolbar shows when djng.debug is on (Django's DEBUG stays False)."""
    return djng.debug.current() and request.META.get("REMOTE_ADDR") == "127.0.0.1"


# Settings first: the apps read theirs when they are installed and imported.
djng.settings(
    CORS_ALLOWED_ORIGINS=["https://app.example"],
    WHITENOISE_USE_FINDERS=True,  # serve the apps' static files without collectstatic
    DEBUG_TOOLBAR_CONFIG={"SHOW_TOOLBAR_CALLBACK": show_toolbar},
)
djng.install("corsheaders", "django_htmx", "debug_toolbar")

from corsheaders.middleware import CorsMiddleware  # noqa: E402
from debug_toolbar.middleware import DebugToolbarMiddleware  # noqa: E402
from django_htmx.middleware import HtmxMiddleware  # noqa: E402
from whitenoise.middleware import WhiteNoiseMiddleware  # noqa: E402

PAGES = djng.templates.Django(
    strings={
        "page.html": """{% load django_htmx %}<!doctype html>
<html><head><meta charset="utf-8"><title>htmx</title>{% htmx_script %}</head>
<body><h1>djng + htmx</h1>
<button hx-get="/fragment" hx-target="#out">What time is it?</button>
<p id="out">not asked yet</p></body></html>""",
        "fragment.html": "<strong>{{ now }}</strong> (an htmx request: {{ request.htmx|yesno }})",
    },
    app_dirs=True,  # the packages' own templates: the toolbar's, django-htmx's
    context_processors=["django.template.context_processors.request"],
)


def page(request):
    return djng.render(request, "page.html")


def fragment(request):
    now = datetime.datetime.now().strftime("%H:%M:%S")
    return djng.render(request, "fragment.html", {"now": now})


def time_api(request):
    return {"now": datetime.datetime.now(datetime.UTC).isoformat()}


site = djng.Router(
    djng.path("", page),
    djng.path("fragment", fragment),
    djng.path("api/time", time_api),
    djng.mount("__debug__", "debug_toolbar.urls"),
)
app = djng.reconfigure(site, templates=PAGES)
for layer in (DebugToolbarMiddleware, HtmxMiddleware, CorsMiddleware, WhiteNoiseMiddleware):
    app = djng.middleware(layer)(app)
application = djng.wsgi(app)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000, debug=True)
