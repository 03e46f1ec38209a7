"""Sessions (three backends), auth, login_required and flash messages through the test client."""

from __future__ import annotations

import pytest
from django.conf import settings

import djng
from djng.testing import Client

from .conftest import csrf_token

TEMPLATES = djng.templates.Django(
    strings={
        "login.html": "<form method=post>{% csrf_token %}{{ form }}</form>{{ form.errors }}",
        "page.html": "{% for m in messages %}<p class={{ m.tags }}>{{ m }}</p>{% endfor %}"
        "user={{ user.username|default:'anonymous' }}",
    },
    context_processors=[
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ],
)


def counter(request):
    request.session["count"] = request.session.get("count", 0) + 1
    return {"count": request.session["count"]}


@pytest.fixture(params=["signed_cookies", "cache", "db"])
def backend(request, database):
    if request.param == "cache":
        with djng.cache.use(djng.cache.LocMem()):
            yield request.param
    else:
        yield request.param


def test_a_session_persists_across_requests(backend):
    client = Client(djng.sessions(counter, backend=backend))
    assert [client.get("/").json()["count"] for _ in range(3)] == [1, 2, 3]
    assert settings.SESSION_COOKIE_NAME in client.cookies
    # Another client (no cookie) has its own session.
    assert Client(djng.sessions(counter, backend=backend)).get("/").json() == {"count": 1}


def test_a_tampered_session_cookie_is_no_session(backend):
    client = Client(djng.sessions(counter, backend=backend))
    client.get("/")
    client.get("/")
    name = settings.SESSION_COOKIE_NAME
    value = client.cookies[name].value
    client.cookies[name] = value[:-3] + ("aaa" if not value.endswith("aaa") else "bbb")
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"count": 1}


def test_garbage_session_cookies_are_no_session(backend):
    client = Client(djng.sessions(counter, backend=backend), raise_exceptions=False)
    for garbage in ["x", "a" * 200, "..", "%00", "e30:1abc:xyz"]:
        client.cookies[settings.SESSION_COOKIE_NAME] = garbage
        response = client.get("/")
        assert (response.status_code, response.json()) == (200, {"count": 1}), garbage


def test_db_sessions_live_in_the_database_in_effect(database):
    from django.contrib.sessions.models import Session

    client = Client(djng.sessions(counter, backend="db"))
    client.get("/")
    assert Session.objects.count() == 1
    with djng.db.use(djng.db.SQLite(":memory:")):
        djng.db.create_tables()
        assert Session.objects.count() == 0


def test_signed_cookie_sessions_follow_the_secret_key():
    client = Client(djng.sessions(counter))
    client.get("/")
    assert client.get("/").json() == {"count": 2}
    with djng.secrets.use("another key entirely, " * 3):
        assert client.get("/").json() == {"count": 1}  # signed with the old key: no session


def test_a_rotated_key_keeps_old_sessions_through_fallbacks(secret_key):
    client = Client(djng.sessions(counter))
    client.get("/")
    with djng.secrets.use(djng.secrets.Key("the new key " * 5, fallbacks=[secret_key])):
        assert client.get("/").json() == {"count": 2}


def test_unknown_session_backend_is_an_error():
    with pytest.raises(ValueError, match="Unknown session backend 'redis'"):
        djng.sessions(counter, backend="redis")


def test_nested_session_layers_share_one_session():
    inner = djng.sessions(counter)
    client = Client(djng.sessions(djng.Router(djng.mount("inner", inner), djng.path("", counter))))
    assert client.get("/").json() == {"count": 1}
    assert client.get("/inner/").json() == {"count": 2}
    response = client.get("/inner/")
    assert response.json() == {"count": 3}
    assert len(response.cookies) == 1


# -- auth -----------------------------------------------------------------------------------


def whoami(request):
    user = request.user
    return {"user": user.username if user.is_authenticated else None}


def login_as(request, username):
    user = djng.auth.User.objects.get(username=username)
    djng.auth.login(request, user)
    return {"logged_in": username}


def logout(request):
    djng.auth.logout(request)
    return {"logged_in": None}


@pytest.fixture
def site(database):
    djng.auth.User.objects.create_user("ada", password="secret-pw")
    router = djng.Router(
        djng.path("", whoami),
        djng.path("as/<str:username>", login_as),
        djng.path("out", logout),
        djng.path("login", djng.auth.login_view("login.html", next_page="/private"), name="login"),
        djng.path("logout", djng.auth.logout_view(next_page="/"), name="logout"),
        djng.path("private", djng.login_required(whoami)),
        djng.mount("members", djng.login_required(djng.Router(djng.path("area", whoami)))),
        djng.path("explicit", djng.login_required(login_url="/elsewhere")(whoami)),
    )
    return djng.reconfigure(djng.auth(router, login_url="login"), templates=TEMPLATES)


def test_request_user_is_anonymous_until_login_and_the_login_persists(site):
    client = Client(site)
    assert client.get("/").json() == {"user": None}
    client.get("/as/ada")
    assert client.get("/").json() == {"user": "ada"}
    assert client.get("/").json() == {"user": "ada"}
    client.get("/out")
    assert client.get("/").json() == {"user": None}


@pytest.mark.parametrize("backend", [None, "db", "cache"])
def test_a_session_cookie_copied_before_logout_is_logged_out_after_it(site, backend):
    """By default (and with the db or cache backends) logout ends the session itself."""
    router = djng.Router(djng.path("", whoami), djng.path("as/<str:username>", login_as),
                         djng.path("out", logout))
    options = {} if backend is None else {"session_backend": backend}
    with djng.cache.use(djng.cache.LocMem()):
        assert seen_with_a_cookie_copied_before_logout(djng.auth(router, **options)) == {
            "user": None}


def test_signed_cookie_sessions_are_an_explicit_choice_and_outlive_logout(site):
    """The trade-off the README states: nothing on the server to end."""
    router = djng.Router(djng.path("", whoami), djng.path("as/<str:username>", login_as),
                         djng.path("out", logout))
    app = djng.auth(router, session_backend="signed_cookies")
    assert seen_with_a_cookie_copied_before_logout(app) == {"user": "ada"}


def seen_with_a_cookie_copied_before_logout(app):
    """Who a thief is, with ada's session cookie copied before she logged out."""
    victim = Client(app)
    victim.get("/as/ada")
    stolen = victim.cookies[settings.SESSION_COOKIE_NAME].value
    victim.get("/out")
    thief = Client(app)
    thief.cookies[settings.SESSION_COOKIE_NAME] = stolen
    return thief.get("/").json()


def test_login_changes_the_session_key(database):
    djng.auth.User.objects.create_user("ada", password="secret-pw")
    router = djng.Router(djng.path("", counter), djng.path("as/<str:username>", login_as))
    client = Client(djng.auth(router, session_backend="db"))
    before = client.get("/").cookies[settings.SESSION_COOKIE_NAME].value
    after = client.get("/as/ada").cookies[settings.SESSION_COOKIE_NAME].value
    assert before != after  # no session fixation
    assert client.get("/").json() == {"count": 2}  # the data moved to the new key


def test_login_view_with_csrf_then_redirect_to_next(site):
    client = Client(site)
    response = client.get("/private")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/private"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b'name="username"' in page.content
    response = client.post(
        "/login?next=/private",
        data={"username": "ada", "password": "secret-pw", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert (response.status_code, response["Location"]) == (302, "/private")
    assert client.get("/private").json() == {"user": "ada"}


def test_login_view_rejects_a_wrong_password_and_an_offsite_next(site):
    client = Client(site)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "ada", "password": "wrong", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "ada", "password": "secret-pw", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response["Location"] == "/private"  # next_page, not the other site


def test_logout_view_needs_a_post_with_a_token(site):
    client = Client(site)
    client.get("/as/ada")
    assert client.post("/logout").status_code == 403
    page = client.get("/login")
    response = client.post("/logout", data={"csrfmiddlewaretoken": csrf_token(page)})
    assert response.status_code == 302
    assert client.get("/").json() == {"user": None}


def test_login_required_on_a_subtree_and_with_its_own_login_url(site):
    client = Client(site)
    assert client.get("/members/area")["Location"] == "/login?next=/members/area"
    assert client.get("/explicit")["Location"] == "/elsewhere?next=/explicit"
    client.get("/as/ada")
    assert client.get("/members/area").json() == {"user": "ada"}


def test_login_required_answers_json_clients_with_401(site):
    response = Client(site).get("/private", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Log in first."


def test_login_required_without_auth_says_what_to_do():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=r"wrap the app with djng.auth\(app\)"):
        Client(djng.login_required(whoami)).get("/")


def test_password_reset_tokens_follow_the_secret_key(database):
    from django.contrib.auth.tokens import default_token_generator

    user = djng.auth.User.objects.create_user("bob", password="pw")
    token = default_token_generator.make_token(user)
    assert default_token_generator.check_token(user, token)
    with djng.secrets.use("a different key " * 4):
        assert not default_token_generator.check_token(user, token)


def test_a_password_change_logs_other_sessions_out(site):
    client = Client(site)
    client.get("/as/ada")
    user = djng.auth.User.objects.get(username="ada")
    user.set_password("new password")
    user.save()
    assert client.get("/").json() == {"user": None}


# -- messages -------------------------------------------------------------------------------


def test_flash_messages_show_once_on_the_next_page():
    def save(request):
        djng.messages.success(request, "Saved.")
        djng.messages.warning(request, "Careful.")
        return djng.redirect("/page")

    def page(request):
        return djng.TemplateResponse(request, "page.html")

    app = djng.reconfigure(
        djng.sessions(djng.Router(djng.path("save", save), djng.path("page", page))),
        templates=TEMPLATES,
    )
    client = Client(app)
    page_page = client.get("/page")
    assert b"Saved." not in page_page.content
    response = client.post("/save", data={"csrfmiddlewaretoken": "x" * 32}, follow=False)
    assert response.status_code == 403  # a POST still needs a real token
    client.get("/save")
    shown = client.get("/page").content.decode()
    assert '<p class="success">Saved.</p>' in shown.replace("class=success", 'class="success"')
    assert "Careful." in shown
    assert "Saved." not in client.get("/page").content.decode()


def test_messages_need_sessions_and_say_so():
    from django.contrib.messages.api import MessageFailure

    def save(request):
        djng.messages.info(request, "x")
        return "ok"

    with pytest.raises(MessageFailure):
        Client(save).get("/")


def test_password_reset_mail_never_links_to_a_hostile_host(database):
    """A reset requested with ``Host: evil.example`` is refused before any mail is made."""
    from django.contrib.auth.forms import PasswordResetForm

    djng.auth.User.objects.create_user("ada", "ada@example.com", "secret-pw")

    def reset(request):
        form = PasswordResetForm({"email": "ada@example.com"})
        assert form.is_valid()
        form.save(request=request, email_template_name="reset.txt", subject_template_name="s.txt")
        return "sent"

    templates = djng.templates.Django(
        strings={"reset.txt": "{{ protocol }}://{{ domain }}/reset/{{ uid }}", "s.txt": "Reset"}
    )
    outbox = djng.mail.Memory()
    app = djng.reconfigure(djng.csrf_exempt(reset), templates=templates, mail=outbox)
    assert Client(app, base_url="http://evil.example").post("/").status_code == 400
    assert outbox.outbox == []
    assert Client(app, base_url="http://localhost").post("/").text == "sent"
    assert outbox.outbox[0].body.startswith("http://localhost/reset/")


def test_djng_auth_imports_the_way_it_reads():
    import djng.auth
    from djng.auth import User, authenticate, login, login_required, logout

    assert djng.auth is djng.batteries.auth.auth and callable(djng.auth)
    assert login_required is djng.login_required
    assert User is djng.auth.User and User._meta.label == "auth.User"
    assert (login, logout, authenticate) == (djng.auth.login, djng.auth.logout,
                                             djng.auth.authenticate)


def test_import_djng_auth_first_keeps_djng_auth_callable():
    import subprocess
    import sys

    from conftest import TIMEOUT, child_env

    code = (
        "import djng.auth\nfrom djng.auth import User, login_required\nimport djng\n"
        "app = djng.auth(djng.Router(djng.path('', login_required(lambda r: 'in'))))\n"
        "from djng.testing import Client\n"
        "print(User.__name__, Client(app).get('/').status_code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True,
        timeout=TIMEOUT,
    )
    assert result.stdout.split() == ["User", "302"], result.stderr
