"""The shop as one process: both services mounted in one site, orders calling users
in-process. Split it by running users elsewhere and setting one variable (below):
users is then reached over HTTP (``pip install -e '.[clients]'``).

    python examples/shop/monolith.py            # http://127.0.0.1:8000/users/, /orders/
    DJNG_SERVICE_USERS_URL=http://127.0.0.1:8001 python examples/shop/monolith.py
"""

import os

import orders
import users

import djng

if os.environ.get("DJNG_SERVICE_USERS_URL"):
    # Split: users runs as its own service; /users/... is forwarded to it, and
    # orders calls it over HTTP (djng.clients reads the same variable).
    users_app = djng.remote("users")
else:
    users_app = users.app
    djng.clients.configure({"users": djng.clients.InProcess(users.app)})

app = djng.Router(
    djng.mount("users", users_app),
    djng.mount("orders", orders.app),
)
application = djng.asgi(app)

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8000)), migrate=False)
