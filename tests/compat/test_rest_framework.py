"""Django REST framework, django-filter: examples/api_drf.py."""

from __future__ import annotations

SETUP = """
api = load("api_drf")
database = djng.db.SQLite(":memory:")
djng.db.configure(database)
djng.commands.call("migrate", verbosity=0)  # DRF's token table comes from its migration
api.Book.objects.create(title="Middlemarch", author="eliot", year=1871)
api.Book.objects.create(title="Emma", author="austen", year=1815)
JSON = {"Accept": "application/json"}
"""


def test_an_apiview_a_viewset_with_a_router_and_filters(check):
    check(SETUP, """
    client = Client(api.app)
    assert client.get("/whoami", headers=JSON).json() == {"user": None}
    root = client.get("/api/", headers=JSON).json()
    assert root == {"books": "http://testserver/api/books/"}  # DRF's api-root, reversed
    books = client.get("/api/books/", headers=JSON).json()
    assert [b["title"] for b in books] == ["Middlemarch", "Emma"]
    assert [b["title"] for b in client.get("/api/books/?author=austen", headers=JSON).json()] == [
        "Emma"]
    anonymous = client.post("/api/books/", json={"title": "x", "author": "y", "year": 1})
    assert anonymous.status_code == 401
    """, needs=("rest_framework", "django_filters"))


def test_a_filterset_on_a_djng_model_with_its_widget_templates(check):
    check(SETUP, """
    import django_filters
    class BookFilter(django_filters.FilterSet):
        year = django_filters.RangeFilter()  # a MultiWidget: django-filter's own template
        class Meta:
            model = api.Book
            fields = ["author", "year"]
    def books(request):
        found = BookFilter(request.GET, queryset=api.Book.objects.order_by("year"))
        return {"form": str(found.form), "titles": [book.title for book in found.qs]}
    client = Client(djng.Router(djng.path("books", books)))
    seen = client.get("/books?year_min=1800&year_max=1850").json()
    assert seen["titles"] == ["Emma"], seen
    assert 'name="year_min"' in seen["form"] and 'name="year_max"' in seen["form"]
    """, needs=("django_filters",))


def test_token_authentication_and_the_token_migration(check):
    check(SETUP, """
    from rest_framework.authtoken.models import Token
    user = djng.auth.User.objects.create_user("ada", password="pw")
    token = Token.objects.create(user=user)
    client = Client(api.app, headers={"Authorization": f"Token {token.key}"})
    assert client.get("/whoami", headers=JSON).json() == {"user": "ada"}
    created = client.post("/api/books/", json={"title": "Notes", "author": "ada", "year": 1843})
    assert created.status_code == 201, created.content
    assert created.json()["title"] == "Notes"
    assert Client(api.app, headers={"Authorization": "Token wrong"}).get(
        "/whoami", headers=JSON).status_code == 401
    """, needs=("rest_framework",))


def test_the_browsable_api_and_its_login(check):
    check(SETUP, """
    client = Client(api.app)
    page = client.get("/api/books/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"Middlemarch" in page.content
    assert b"/api-auth/login/" in page.content  # rest_framework:login, reversed through the mount
    login = client.get("/api-auth/login/")
    assert login.status_code == 200 and b"csrfmiddlewaretoken" in login.content
    """, needs=("rest_framework",))


def test_throttling_counts_in_the_cache_in_effect(check):
    check(SETUP, """
    from rest_framework.settings import api_settings
    from rest_framework.throttling import AnonRateThrottle
    AnonRateThrottle.THROTTLE_RATES = {"anon": "3/minute"}
    cache = djng.cache.LocMem("throttle")
    with djng.cache.use(cache):
        client = Client(api.app)
        codes = [client.get("/whoami", headers=JSON).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429], codes
    assert any(key.startswith(":1:throttle_anon") for key in cache._cache), list(cache._cache)
    with djng.cache.use(djng.cache.LocMem("fresh")):
        assert Client(api.app).get("/whoami", headers=JSON).status_code == 200
    """, needs=("rest_framework",))


def test_a_plain_apiview_works_without_djng_auth(check):
    check("""
    djng.install("rest_framework")
    from rest_framework.views import APIView
    from rest_framework.response import Response
    class Ping(APIView):
        def get(self, request):
            return Response({"pong": True, "user": str(request.user)})
    response = Client(djng.Router(djng.path("ping", Ping.as_view()))).get("/ping")
    assert response.json() == {"pong": True, "user": "AnonymousUser"}, response.content
    """, needs=("rest_framework",))
