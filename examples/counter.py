"""A hit counter that scales out: data in PostgreSQL, cache in Redis, many workers.

    POST /          records one hit as a row            -> 201 {"id": ..., "tenant": ...}
    GET  /          the number of hits                  -> {"count": N, "tenant": ...}
    GET  /health    whether PostgreSQL and Redis answer -> 200, or 503 naming which is down

Send ``X-Tenant: <name>`` to count for another tenant: that request pushes the
tenant's own cache (its own Redis key prefix), so tenants never see each other's
cached counts. Backends come from the environment:

    export DJNG_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test?conn_max_age=60"
    export DJNG_CACHE_URL=redis://127.0.0.1:6379/0?key_prefix=counter
    gunicorn --workers 4 --bind 127.0.0.1:8000 counter:application   # from examples/

Without them it runs on SQLite and an in-process cache: python examples/counter.py
"""

import re

from django.core.cache import cache
from django.db import DatabaseError

import djng

TENANT = re.compile(r"^[a-z0-9-]{1,20}$")


class Hit(djng.Model):
    tenant = djng.models.CharField(max_length=20, db_index=True)
    created = djng.models.DateTimeField(auto_now_add=True)


def ensure_table() -> None:
    """Create the table if it is missing; several workers may race to do it."""
    try:
        djng.db.create_tables()
    except DatabaseError:
        tables = djng.db.current().connection.introspection.table_names()
        if Hit._meta.db_table not in tables:
            raise  # not a lost race: a real error


def tenant_caches(app):
    """Middleware: a request for another tenant uses that tenant's key prefix."""

    def view(request, *args, **kwargs):
        tenant = request.headers.get("X-Tenant", "main")
        if not TENANT.match(tenant):
            return {"error": "X-Tenant must be 1-20 of a-z, 0-9 and -"}, 400
        request.tenant = tenant
        if tenant != "main":
            djng.cache.push(tenant_cache(tenant))
        return app(request, *args, **kwargs)

    return view


_tenant_caches: dict = {}


def tenant_cache(tenant: str):
    """The cache of one tenant: the default cache's server with its own key prefix."""
    if tenant not in _tenant_caches:
        default = djng.cache.default()
        if isinstance(default, djng.cache.Redis):
            backend = djng.cache.Redis(default.url, key_prefix=f"{default.key_prefix}:{tenant}")
        else:
            backend = djng.cache.LocMem(f"counter-{tenant}")
        _tenant_caches.setdefault(tenant, backend)
    return _tenant_caches[tenant]


def count_key() -> str:
    # A generation number bumped by every write: a count cached for an older
    # generation is never read again, so readers cannot see a stale count.
    cache.add("generation", 0, timeout=None)
    return f"count:{cache.get('generation')}"


def hits(request):
    if request.method == "POST":
        hit = Hit.objects.create(tenant=request.tenant)
        cache.add("generation", 0, timeout=None)
        cache.incr("generation")
        return {"id": hit.id, "tenant": request.tenant}, 201
    count = cache.get_or_set(
        count_key(), lambda: Hit.objects.filter(tenant=request.tenant).count(), timeout=60
    )
    return {
        "count": count,
        "tenant": request.tenant,
        "cache_prefix": djng.cache.current().key_prefix,
    }


app = djng.Router(
    djng.path("", tenant_caches(hits), methods=["GET", "POST"]),
    djng.path("health", djng.health(["db", "cache"])),
)

ensure_table()
application = djng.wsgi(app)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
