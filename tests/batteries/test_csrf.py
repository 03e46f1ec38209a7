"""CSRF protection wherever sessions are used, csrf_exempt, the 403 page, and the 413 limit."""

from __future__ import annotations

import pytest
from django.conf import settings

import djng
from djng.testing import Client

from .conftest import csrf_token

FORM = djng.templates.Django(
    strings={"form.html": "<form method=post>{% csrf_token %}<button>go</button></form>"}
)


def form(request):
    return djng.TemplateResponse(request, "form.html")


def submit(request):
    return {"ok": request.method, "data": request.POST.get("value", "")}


def api(request):
    return {"api": request.method}


@pytest.fixture
def app():
    router = djng.Router(
        djng.path("form", {"GET": form, "POST": submit}),
        djng.path("any", submit),
        djng.path("api", djng.csrf_exempt(api)),
        djng.path("wrapped", djng.reconfigure(djng.csrf_exempt(api), cache=djng.cache.Dummy())),
        djng.mount("webhooks", djng.csrf_exempt(djng.Router(djng.path("in", api)))),
    )
    return djng.reconfigure(djng.sessions(router), templates=FORM)


def test_a_post_with_the_token_from_the_form_passes(app):
    client = Client(app)
    page = client.get("/form")
    assert settings.CSRF_COOKIE_NAME in client.cookies
    response = client.post("/form", data={"csrfmiddlewaretoken": csrf_token(page), "value": "x"})
    assert response.json() == {"ok": "POST", "data": "x"}


def test_the_token_also_works_in_the_header(app):
    client = Client(app)
    client.get("/form")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/form", data={"value": "y"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_without_a_token_get_a_403_that_explains(app, method):
    client = Client(app)
    client.get("/form")  # has the cookie, not the token
    response = client.request(method, "/any")
    assert response.status_code == 403
    text = response.content.decode()
    assert "CSRF verification failed: CSRF token missing." in text
    assert "{% csrf_token %}" in text
    assert "djng.csrf_exempt" in text


def test_a_missing_cookie_is_explained_too(app):
    response = Client(app).post("/form", data={"value": "x"})
    assert response.status_code == 403
    assert "CSRF cookie not set" in response.content.decode()


def test_json_clients_get_problem_json(app):
    client = Client(app)
    response = client.post("/form", json={"value": 1}, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 403
    assert problem["detail"].startswith("CSRF verification failed")
    assert "X-CSRFToken" in problem["detail"]


def test_a_wrong_token_is_rejected(app):
    client = Client(app)
    client.get("/form")
    response = client.post("/form", data={"csrfmiddlewaretoken": "a" * 64})
    assert response.status_code == 403


def test_a_foreign_origin_is_rejected_even_with_a_token(app):
    client = Client(app)
    page = client.get("/form")
    response = client.post(
        "/form",
        data={"csrfmiddlewaretoken": csrf_token(page)},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "Origin checking failed" in response.content.decode()


def test_safe_methods_are_never_checked(app):
    client = Client(app)
    assert client.get("/form").status_code == 200
    assert client.head("/form").status_code == 200
    assert client.options("/form").status_code == 200


def test_csrf_exempt_on_a_view_a_wrapped_view_and_a_subtree(app):
    client = Client(app)
    assert client.post("/api", json={}).json() == {"api": "POST"}
    assert client.post("/wrapped", json={}).json() == {"api": "POST"}
    assert client.delete("/webhooks/in").json() == {"api": "DELETE"}


def test_without_sessions_there_is_no_csrf_check():
    assert Client(submit).post("/", data={"value": "v"}).json() == {"ok": "POST", "data": "v"}


# -- the upload limit -------------------------------------------------------------------------


def echo_length(request):
    return {"fields": len(request.POST)}


@pytest.mark.parametrize("wrap", [lambda app: app, djng.sessions], ids=["plain", "sessions"])
def test_a_body_over_the_upload_limit_gets_413(wrap):
    client = Client(wrap(djng.csrf_exempt(echo_length)))
    too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post("/", data={"field": too_big}, headers={"Accept": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is larger than allowed."
    assert client.post("/", data={"field": "small"}).json() == {"fields": 1}


def test_too_many_fields_is_a_400_not_a_500():
    client = Client(djng.csrf_exempt(echo_length), raise_exceptions=False)
    data = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    assert client.post("/", data=data).status_code == 400


# -- one view path: the check runs whatever kind of endpoint a request reaches ------------


def _state_changing_wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"changed by a WSGI app"]


def _login(request):
    djng.auth.login(request, djng.auth.User.objects.get(username="ada"))
    return "logged in"


ENDPOINTS = {
    "a path() view": "/view",
    "a mounted view": "/mounted-view/anything",
    "a mounted from_wsgi app": "/mounted-wsgi/anything",
    "a view in a mounted Router": "/mounted-router/inner",
    "a view in a mounted, wrapped Router": "/wrapped-router/inner",
}


@pytest.fixture
def logged_in(database):
    djng.auth.User.objects.create_user("ada", password="secret-pw")

    def change(request):
        return f"changed by {request.user.username}"

    router = djng.Router(
        djng.path("login", _login),
        djng.path("view", change),
        djng.mount("mounted-view", change),
        djng.mount("mounted-wsgi", djng.from_wsgi(_state_changing_wsgi_app)),
        djng.mount("mounted-router", djng.Router(djng.path("inner", change))),
        djng.mount("wrapped-router", djng.gzip(djng.Router(djng.path("inner", change)))),
    )
    client = Client(djng.auth(router))
    assert client.get("/login").text == "logged in"
    return client


@pytest.mark.parametrize("where", list(ENDPOINTS))
def test_a_logged_in_post_without_a_token_is_refused_wherever_the_endpoint_is(logged_in, where):
    path = ENDPOINTS[where]
    response = logged_in.post(path, data={"x": "1"})
    assert response.status_code == 403, (where, response.content[:200])
    assert b"CSRF verification failed" in response.content
    token = logged_in.cookies[settings.CSRF_COOKIE_NAME].value
    allowed = logged_in.post(path, data={"x": "1"}, headers={"X-CSRFToken": token})
    assert allowed.status_code == 200, (where, allowed.content[:200])
