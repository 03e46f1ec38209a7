"""The orders service: orders in a database of its own; each order's customer
comes from the users service (``djng.clients.users``), never from its tables.
It answers at its root (the monolith mounts it at /orders/); its contract is
typed and published at /openapi.json (shown at /docs).

    POST /       {"customer": 1, "item": "tea", "quantity": 2}  -> 201 {order}
    GET  /<id>   an order with its customer (one call to users)
    GET  /       every order with its customer (the calls to users made at once)

    DJNG_SERVICE_USERS_URL=http://127.0.0.1:8001 python examples/shop/orders.py   # :8002
"""

import asyncio
import os
from pathlib import Path
from typing import Annotated

import msgspec

import djng
from djng import models

HERE = Path(__file__).resolve().parent


class Order(djng.Model):
    customer = models.IntegerField()  # an id in the users service: no foreign key across services
    item = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()


class Customer(msgspec.Struct):
    """What orders reads of a customer (the users service sends more or less)."""

    id: int
    name: str


class NewOrder(msgspec.Struct):
    customer: Annotated[int, msgspec.Meta(ge=1)]
    item: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class OrderOut(msgspec.Struct):
    id: int
    item: str
    quantity: int
    customer: Customer


def out(order, customer):
    return OrderOut(order.id, order.item, order.quantity, customer)


@djng.answers(409)
def place(request, new: NewOrder) -> OrderOut:
    """A new order, for a customer the users service knows (409 when it does not)."""
    try:
        who = djng.clients.users.get(f"/{new.customer}", type=Customer)
    except djng.Http404:
        raise djng.Problem(409, f"There is no customer {new.customer}") from None
    order = Order.objects.create(customer=new.customer, item=new.item, quantity=new.quantity)
    return out(order, who), 201


def order(request, id: int) -> OrderOut:
    """One order, with its customer."""
    found = Order.objects.filter(id=id).first()
    if found is None:
        raise djng.Http404(f"No order {id}")
    return out(found, djng.clients.users.get(f"/{found.customer}", type=Customer))


async def orders(request) -> list[OrderOut]:
    """Every order; each customer asked for once, all at the same time."""
    found = [o async for o in Order.objects.order_by("id")]
    ids = sorted({o.customer for o in found})
    customers = await asyncio.gather(
        *(djng.clients.users.aget(f"/{i}", type=Customer) for i in ids))
    by_id = dict(zip(ids, customers, strict=True))
    return [out(o, by_id[o.customer]) for o in found]


router = djng.Router(
    djng.path("", {"GET": orders, "POST": place}),
    djng.path("<int:id>", order),
)
site = djng.Router(
    djng.path("openapi.json", djng.openapi(router, title="Orders", version="1.0")),
    djng.path("docs", djng.openapi_page("openapi.json", title="Orders")),
    djng.mount("", router),
)


def make_app(database=None):
    """The service with its own database (``orders.sqlite3`` here, unless given one)."""
    database = database or djng.db.SQLite(os.environ.get("SHOP_ORDERS_DB", HERE / "orders.sqlite3"))
    served = djng.lifespan(site, startup=lambda: models.create_tables(Order, database=database))
    return djng.reconfigure(served, db=database)


app = make_app()
application = djng.asgi(app)  # uvicorn orders:application

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8002)), migrate=False)
