"""The users service: customers, in a database of its own. It answers at its
root (the monolith mounts it at /users/), and its contract is typed: msgspec
checks what comes in and goes out, /openapi.json publishes it, /docs shows it.

    GET  /<id>   one customer                  -> {"id": 1, "name": ..., "email": ...}
    GET  /       every customer
    POST /       {"name": ..., "email": ...}   -> 201 {"id": ..., ...}

    python examples/shop/users.py               # http://127.0.0.1:8001/ (users.sqlite3)
    SHOP_USERS_DB=/tmp/users.sqlite3 python examples/shop/users.py
"""

import os
from pathlib import Path
from typing import Annotated

import msgspec

import djng
from djng import models

HERE = Path(__file__).resolve().parent


class Customer(djng.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)


class NewCustomer(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@ ]+@[^@ ]+$", max_length=254)]


class CustomerOut(msgspec.Struct):
    id: int
    name: str
    email: str


def out(customer):
    return CustomerOut(customer.id, customer.name, customer.email)


def customer(request, id: int) -> CustomerOut:
    """One customer."""
    found = Customer.objects.filter(id=id).first()
    if found is None:
        raise djng.Http404(f"No customer {id}")
    return out(found)


def customers(request) -> list[CustomerOut]:
    """Every customer, oldest first."""
    return [out(c) for c in Customer.objects.order_by("id")]


@djng.answers(409)
def add(request, new: NewCustomer) -> CustomerOut:
    """A new customer; 409 when the email is taken."""
    if Customer.objects.filter(email=new.email).exists():
        raise djng.Problem(409, f"A customer with the email {new.email!r} exists already")
    return out(Customer.objects.create(name=new.name, email=new.email)), 201


router = djng.Router(
    djng.path("", {"GET": customers, "POST": add}),
    djng.path("<int:id>", customer),
)
site = djng.Router(
    djng.path("openapi.json", djng.openapi(router, title="Users", version="1.0")),
    djng.path("docs", djng.openapi_page("openapi.json", title="Users")),
    djng.mount("", router),
)


def make_app(database=None):
    """The service with its own database (``users.sqlite3`` here, unless given one)."""
    database = database or djng.db.SQLite(os.environ.get("SHOP_USERS_DB", HERE / "users.sqlite3"))
    served = djng.lifespan(site, startup=lambda: models.create_tables(Customer,
                                                                       database=database))
    return djng.reconfigure(served, db=database)


app = make_app()
application = djng.asgi(app)  # uvicorn users:application

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8001)), migrate=False)
