"""Use case 3: one section of the site uses its own cache, so its churn cannot
evict anyone else's entries.

    python examples/section_cache.py
    curl http://127.0.0.1:8000/             # cached in the site cache
    curl http://127.0.0.1:8000/search/q1    # cached in the search section's cache
"""

from django.core.cache import cache

import djng

site_cache = djng.cache.LocMem("site", max_entries=100)
search_cache = djng.cache.LocMem("search", max_entries=100, timeout=60)
djng.cache.configure(site_cache)


def home(request):
    visits = cache.get_or_set("home:visits", 0)
    cache.set("home:visits", visits + 1)
    return {"visits": visits + 1}


def search(request, query):
    # A new key for every query: heavy churn, confined to the search cache.
    result = cache.get_or_set(f"search:{query}", lambda: f"results for {query}")
    return {"query": query, "result": result, "cached_keys": len(cache._cache)}


search_section = djng.Router(djng.path("<str:query>", search))

app = djng.Router(
    djng.path("", home),
    djng.mount("search", djng.reconfigure(search_section, cache=search_cache)),
)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
