"""Use case 5: admin users get debug pages while regular visitors do not.

A wrapper turns djng.debug on for the requests of admins only, so an unhandled
exception shows them Django's technical 500 page and everyone else a plain 500.
(Here an admin is whoever sends the X-Admin-Token header; with sessions and
auth, check request.user.is_staff instead.)

    python examples/admin_debug.py
    curl http://127.0.0.1:8000/broken                                  # plain 500
    curl -H 'X-Admin-Token: let-me-debug' http://127.0.0.1:8000/broken  # technical page
"""

import hmac
import os

import djng

ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "let-me-debug")


def debug_for_admins(app):
    def view(request, *args, **kwargs):
        token = request.headers.get("X-Admin-Token", "")
        if hmac.compare_digest(token.encode(), ADMIN_TOKEN.encode()):
            djng.debug.push(True)
        return app(request, *args, **kwargs)

    return view


def broken(request):
    secret_recipe = {"flour": 500}  # noqa: F841 - shown in the debug page's locals
    raise KeyError("sugar")


app = debug_for_admins(djng.Router(djng.path("broken", broken)))

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
