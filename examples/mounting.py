"""A whole site in one file: a Router of Routers, a mounted Flask app, middleware.

    python examples/mounting.py                       # development server on :8000
    gunicorn --chdir examples mounting:application    # any WSGI server

Every piece below is a ``request -> response`` callable: the views, the Routers,
the error pages, the Flask app adapted by ``djng.from_wsgi`` and the site that
``djng.gzip`` wraps around all of them.
"""

import djng

# -- plain views -------------------------------------------------------------------


def home(request):
    links = ["/users/42", "/notes", "/api/items/7", "/flask/hello?name=djng"]
    items = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
    return f"<!doctype html><title>djng</title><h1>djng mounting example</h1><ul>{items}</ul>"


def user(request, id):
    # 'users/<int:id>' hands over an int; a dict becomes a JSON response.
    return {"id": id, "url": djng.reverse("user", kwargs={"id": id})}


NOTES = ["Routers nest", "middleware is app -> app"]


def list_notes(request):
    return {"notes": NOTES}


def add_note(request):
    text = request.POST.get("text", "").strip()
    if not text:
        return {"error": "text is required"}, 400
    NOTES.append(text)
    return {"notes": NOTES}, 201, {"Location": djng.reverse("notes")}


# -- an API mounted under /api, with its own 404 ---------------------------------------


def item(request, id):
    return {"id": id, "name": f"item {id}", "self": djng.reverse("item", kwargs={"id": id})}


def api_not_found(request, exc):
    problem = {
        "type": "about:blank",
        "title": "No such API endpoint",
        "status": 404,
        "detail": f"{request.path} is not part of the API; try {djng.reverse('items')}",
    }
    return problem, 404, {"Content-Type": "application/problem+json"}


api = djng.errors(
    djng.Router(
        djng.path("items", lambda request: [{"id": n} for n in (1, 2, 3)], name="items"),
        djng.path("items/<int:id>", item, name="item"),
    ),
    not_found=api_not_found,
)


# -- a Flask app mounted under /flask ------------------------------------------------


def flask_app():
    """The Flask app if Flask is installed, else a view that says how to get it."""
    try:
        from flask import Flask, request
    except ImportError:
        return lambda request: ("Flask is not installed: pip install flask", 501)

    app = Flask("djng-example")

    @app.route("/hello")
    def hello():
        return f"Hello {request.args.get('name', 'world')} from Flask at {request.script_root}"

    @app.route("/echo", methods=["POST"])
    def echo():
        return {
            "path": request.path,
            "root": request.script_root,
            "body": request.get_data(as_text=True),
        }

    return djng.from_wsgi(app)


# -- the site ------------------------------------------------------------------------

site = djng.gzip(
    djng.Router(
        (r"^$", home, "home"),
        djng.path("users/<int:id>", user, name="user"),
        djng.path("notes", {"GET": list_notes, "POST": add_note}, name="notes"),
        djng.mount("api", api),
        djng.mount("flask", flask_app()),
    )
)

application = djng.wsgi(site)

if __name__ == "__main__":
    djng.serve(site, "127.0.0.1", 8000)
