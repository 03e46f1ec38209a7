"""Django's admin from djng.admin(): login, change list, add, edit, delete, CSRF, messages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

import djng
from djng import models
from djng.testing import Client

from .conftest import csrf_token

djng.registry.install_batteries()  # the admin app must be installed before its modules load

from django.contrib.admin import ModelAdmin  # noqa: E402


class Gadget(djng.Model):
    name = models.CharField(max_length=50)
    price = models.IntegerField(default=0)

    def __str__(self):
        return self.name


class GadgetAdmin(ModelAdmin):
    list_display = ["name", "price"]
    search_fields = ["name"]


LABEL = Gadget._meta.app_label
CHANGELIST = f"/admin/{LABEL}/gadget/"


@pytest.fixture
def staff(database):
    return djng.auth.User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def app():
    return djng.Router(
        djng.path("", lambda request: "home"),
        djng.admin(models=[(Gadget, GadgetAdmin), djng.auth.User]),
    )


def logged_in(app) -> Client:
    client = Client(app)
    page = client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "root", "password": "pw", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    return client


def test_anonymous_visitors_are_sent_to_the_admin_login(app, database):
    response = Client(app).get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    page = Client(app).get("/admin/login/")
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    assert b'href="/static/admin/css/base.css"' in page.content


def test_a_wrong_password_and_a_non_staff_user_are_refused(app, staff):
    djng.auth.User.objects.create_user("visitor", password="pw")
    client = Client(app)
    for username in ("root", "visitor"):
        page = client.get("/admin/login/")
        response = client.post(
            "/admin/login/",
            data={
                "username": username,
                "password": "pw" if username == "visitor" else "wrong",
                "csrfmiddlewaretoken": csrf_token(page),
            },
        )
        assert response.status_code == 200
        assert b"Please enter the correct username and password for a staff account" in (
            response.content
        )
    assert client.get("/admin/").status_code == 302


def test_full_admin_flow(app, staff):
    client = logged_in(app)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert f'href="/admin/{LABEL}/gadget/"'.encode() in index.content
    assert b'href="/admin/auth/user/"' in index.content

    # add
    form = client.get(CHANGELIST + "add/")
    assert form.status_code == 200
    response = client.post(
        CHANGELIST + "add/",
        data={"name": "Widget", "price": "12", "csrfmiddlewaretoken": csrf_token(form)},
    )
    assert (response.status_code, response["Location"]) == (302, CHANGELIST)
    gadget = Gadget.objects.get()
    assert (gadget.name, gadget.price) == ("Widget", 12)

    # the change list shows it, with the success message
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert b"Widget" in listing.content
    assert b"was added successfully" in listing.content
    assert b"was added successfully" not in client.get(CHANGELIST).content  # shown once
    assert b"Widget" in client.get(CHANGELIST, {"q": "Widg"}).content
    assert b"Widget" not in client.get(CHANGELIST, {"q": "nothing"}).content

    # edit
    change_url = f"{CHANGELIST}{gadget.pk}/change/"
    form = client.get(change_url)
    assert b'value="Widget"' in form.content
    response = client.post(
        change_url,
        data={"name": "Gizmo", "price": "15", "csrfmiddlewaretoken": csrf_token(form)},
    )
    assert response.status_code == 302
    gadget.refresh_from_db()
    assert (gadget.name, gadget.price) == ("Gizmo", 15)
    assert b"was changed successfully" in client.get(CHANGELIST).content

    # an invalid edit re-renders with errors and changes nothing
    response = client.post(
        change_url, data={"name": "", "price": "x", "csrfmiddlewaretoken": csrf_token(form)}
    )
    assert response.status_code == 200
    assert b"errornote" in response.content
    gadget.refresh_from_db()
    assert gadget.name == "Gizmo"

    # delete, through the confirmation page
    confirm = client.get(f"{CHANGELIST}{gadget.pk}/delete/")
    assert b"Are you sure" in confirm.content
    response = client.post(
        f"{CHANGELIST}{gadget.pk}/delete/",
        data={"post": "yes", "csrfmiddlewaretoken": csrf_token(confirm)},
    )
    assert response.status_code == 302
    assert not Gadget.objects.exists()
    assert b"was deleted successfully" in client.get(CHANGELIST).content

    # the admin log recorded all three
    from django.contrib.admin.models import LogEntry

    assert sorted(e.action_flag for e in LogEntry.objects.all()) == [1, 2, 3]


def test_admin_posts_need_a_csrf_token(app, staff):
    client = logged_in(app)
    response = client.post(CHANGELIST + "add/", data={"name": "x", "price": "1"})
    assert response.status_code == 403
    assert b"CSRF verification failed" in response.content
    assert not Gadget.objects.exists()


def test_the_user_admin_is_djangos(app, staff):
    client = logged_in(app)
    page = client.get("/admin/auth/user/add/")
    assert b"password1" in page.content  # UserAdmin's creation form, not a raw hash field
    response = client.post(
        "/admin/auth/user/add/",
        data={
            "username": "newbie",
            "password1": "a long passphrase 123",
            "password2": "a long passphrase 123",
            "usable_password": "true",
            "csrfmiddlewaretoken": csrf_token(page),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert djng.auth.User.objects.get(username="newbie").check_password("a long passphrase 123")


def test_urls_reverse_under_any_mount(staff):
    site = djng.admin(models=[Gadget])
    app = djng.Router(
        djng.mount("staff/tools", site), djng.path("where", lambda r: reverse("admin:index"))
    )
    client = Client(app)
    assert client.get("/where").content == b"/staff/tools/"
    assert client.get("/staff/tools/")["Location"] == "/staff/tools/login/?next=/staff/tools/"
    page = client.get("/staff/tools/login/")
    response = client.post(
        "/staff/tools/login/?next=/staff/tools/",
        data={"username": "root", "password": "pw", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response["Location"] == "/staff/tools/"
    index = client.get("/staff/tools/").content.decode()
    assert f'href="/staff/tools/{LABEL}/gadget/"' in index
    assert client.get("/staff/tools/nothing-here/").status_code == 404
    no_slash = client.get(f"/staff/tools/{LABEL}/gadget")  # Django's APPEND_SLASH, in the admin
    assert (no_slash.status_code, no_slash["Location"]) == (301, f"/staff/tools/{LABEL}/gadget/")


def test_the_admin_uses_the_database_in_effect(app, staff):
    client = logged_in(app)
    form = client.get(CHANGELIST + "add/")
    token = csrf_token(form)
    client.post(CHANGELIST + "add/", data={"name": "A", "price": "1", "csrfmiddlewaretoken": token})
    assert Gadget.objects.count() == 1
    other = djng.db.SQLite(":memory:")
    with djng.db.use(other):
        djng.db.create_tables()
        assert Gadget.objects.count() == 0
        # Without the staff user in this database, the session's user is gone.
        assert client.get("/admin/").status_code == 302


def test_the_admin_shares_the_apps_session(staff):
    def who(request):
        return {"user": request.user.username}

    app = djng.auth(djng.Router(djng.path("who", who), djng.admin(models=[Gadget])))
    client = logged_in(app)
    assert client.get("/who").json() == {"user": "root"}


def test_the_admin_keeps_its_templates_to_itself(staff):
    mine = djng.templates.Django(strings={"admin/base_site.html": "MINE"})
    app = djng.reconfigure(djng.Router(djng.admin(models=[Gadget])), templates=mine)
    page = Client(app).get("/admin/login/")
    assert b"MINE" not in page.content
    assert re.search(rb"<title>.*Django site admin</title>", page.content, re.S)


def test_admin_takes_a_list_of_models():
    with pytest.raises(TypeError, match="list of models"):
        djng.admin(models=Gadget)
