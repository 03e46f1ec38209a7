"""The users service: customers, in a database of its own. It answers at its
root; the monolith mounts it at /users/.

    GET  /<id>   one customer                  -> {"id": 1, "name": ..., "email": ...}
    GET  /       every customer
    POST /       {"name": ..., "email": ...}   -> 201 {"id": ..., ...}

    python examples/shop/users.py               # http://127.0.0.1:8001/ (users.sqlite3)
    SHOP_USERS_DB=/tmp/users.sqlite3 python examples/shop/users.py
"""

import os
from pathlib import Path

from api import body_of, problem

import djng
from djng import models

HERE = Path(__file__).resolve().parent


class Customer(djng.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)

    def as_dict(self):
        return {"id": self.id, "name": self.name, "email": self.email}


def customer(request, id):
    found = Customer.objects.filter(id=id).first()
    if found is None:
        raise djng.Http404(f"No customer {id}")
    return found.as_dict()


def customers(request):
    if request.method == "POST":
        given = body_of(request)
        name, email = given.get("name"), given.get("email")
        if not (isinstance(name, str) and name and isinstance(email, str) and "@" in email):
            return problem(422, "Give a name and an email, e.g. {\"name\": \"Ada\", ...}")
        if Customer.objects.filter(email=email).exists():
            return problem(409, f"A customer with the email {email!r} exists already")
        return Customer.objects.create(name=name, email=email).as_dict(), 201
    return [c.as_dict() for c in Customer.objects.order_by("id")]


router = djng.Router(
    djng.path("", customers),
    djng.path("<int:id>", customer),
)


def make_app(database=None):
    """The service with its own database (``users.sqlite3`` here, unless given one)."""
    database = database or djng.db.SQLite(os.environ.get("SHOP_USERS_DB", HERE / "users.sqlite3"))
    served = djng.lifespan(router, startup=lambda: models.create_tables(Customer,
                                                                         database=database))
    return djng.reconfigure(served, db=database)


app = make_app()
application = djng.asgi(app)  # uvicorn users:application

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8001)), migrate=False)
