"""Use case 1: requests from mobile phones load mobile templates in preference.

A wrapper pushes an engine that searches the mobile folder first when the
User-Agent looks like a phone; every template it does not override (here
index.html) still comes from the default folder.

    python examples/mobile_templates.py
    curl http://127.0.0.1:8000/
    curl -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)' http://127.0.0.1:8000/
"""

import re
from pathlib import Path

import djng

HERE = Path(__file__).resolve().parent / "mobile_templates"
MOBILE_AGENT = re.compile(r"Mobile|Android|iPhone|iPad|Windows Phone", re.IGNORECASE)

desktop = djng.templates.Django(dirs=[HERE / "default"])
mobile = djng.templates.Django(dirs=[HERE / "mobile", HERE / "default"])
djng.templates.configure(desktop)


def mobile_templates(app):
    """Middleware: phones get the mobile templates for the rest of their request."""

    def view(request, *args, **kwargs):
        if MOBILE_AGENT.search(request.headers.get("User-Agent", "")):
            djng.templates.push(mobile)
        return app(request, *args, **kwargs)

    return view


def index(request):
    return djng.TemplateResponse(request, "index.html", {"name": request.GET.get("name", "world")})


app = mobile_templates(djng.Router(djng.path("", index)))

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
