"""The orders service: orders in a database of its own; each order's customer
comes from the users service (``djng.clients.users``), never from its tables.
It answers at its root; the monolith mounts it at /orders/.

    POST /       {"customer": 1, "item": "tea", "quantity": 2}  -> 201 {order}
    GET  /<id>   an order with its customer (one call to users)
    GET  /       every order with its customer (the calls to users made at once)

    DJNG_SERVICE_USERS_URL=http://127.0.0.1:8001 python examples/shop/orders.py   # :8002
"""

import asyncio
import os
from pathlib import Path

from api import body_of, problem

import djng
from djng import models

HERE = Path(__file__).resolve().parent


class Order(djng.Model):
    customer = models.IntegerField()  # an id in the users service: no foreign key across services
    item = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()

    def as_dict(self, customer):
        return {"id": self.id, "item": self.item, "quantity": self.quantity, "customer": customer}


def place(request):
    given = body_of(request)
    customer, item, quantity = given.get("customer"), given.get("item"), given.get("quantity")
    if not (isinstance(customer, int) and isinstance(item, str) and item
            and isinstance(quantity, int) and quantity > 0):
        return problem(422, "Give customer (an id), item and a quantity above 0")
    try:
        who = djng.clients.users.get(f"/{customer}")
    except djng.Http404:
        return problem(422, f"There is no customer {customer}")
    order = Order.objects.create(customer=customer, item=item, quantity=quantity)
    return order.as_dict(who), 201


def order(request, id):
    found = Order.objects.filter(id=id).first()
    if found is None:
        raise djng.Http404(f"No order {id}")
    return found.as_dict(djng.clients.users.get(f"/{found.customer}"))


async def orders(request):
    """Every order; each customer asked for once, all at the same time."""
    found = [o async for o in Order.objects.order_by("id")]
    ids = sorted({o.customer for o in found})
    customers = await asyncio.gather(*(djng.clients.users.aget(f"/{i}") for i in ids))
    by_id = dict(zip(ids, customers, strict=True))
    return [o.as_dict(by_id[o.customer]) for o in found]


router = djng.Router(
    djng.path("", {"GET": orders, "POST": place}),
    djng.path("<int:id>", order),
)


def make_app(database=None):
    """The service with its own database (``orders.sqlite3`` here, unless given one)."""
    database = database or djng.db.SQLite(os.environ.get("SHOP_ORDERS_DB", HERE / "orders.sqlite3"))
    served = djng.lifespan(router, startup=lambda: models.create_tables(Order, database=database))
    return djng.reconfigure(served, db=database)


app = make_app()
application = djng.asgi(app)  # uvicorn orders:application

if __name__ == "__main__":
    djng.serve(app, port=int(os.environ.get("PORT", 8002)), migrate=False)
