"""Two djng apps with their own cache, mail and database, side by side in one process.

Each app is wrapped with djng.reconfigure(), so Django's own helpers (the cache,
send_mail, the ORM) reach that app's backends while it handles a request.

    python examples/two_apps.py
    curl -X POST http://127.0.0.1:8000/shop/orders
    curl http://127.0.0.1:8000/shop/orders
    curl http://127.0.0.1:8000/blog/orders     # the blog's database is another one
"""

from django.core.cache import cache
from django.core.mail import send_mail

import djng


def make_app(name: str):
    services = {
        "cache": djng.cache.LocMem(name),
        "mail": djng.mail.Memory(),
        "db": djng.db.SQLite(":memory:"),
    }
    with services["db"].connection.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)")

    def orders(request):
        database = djng.db.current().connection
        with database.cursor() as cursor:
            if request.method == "POST":
                cursor.execute("INSERT INTO orders (note) VALUES (%s)", [name])
                send_mail("New order", name, f"{name}@example.com", ["ops@example.com"])
                cache.set("last", name)
            cursor.execute("SELECT COUNT(*) FROM orders")
            count = cursor.fetchone()[0]
        return {"app": name, "orders": count, "last": cache.get("last"),
                "mails": len(djng.mail.outbox)}

    router = djng.Router(djng.path("orders", orders, methods=["GET", "POST"]))
    return djng.reconfigure(router, **services), services


shop, shop_services = make_app("shop")
blog, blog_services = make_app("blog")

site = djng.Router(djng.mount("shop", shop), djng.mount("blog", blog))

if __name__ == "__main__":
    djng.serve(site, "127.0.0.1", 8000)
