"""examples/notes.py end to end: in-process through the test client, and served by its script."""

from __future__ import annotations

import shutil
import sqlite3
import sys

import pytest
from conftest import EXAMPLES, child_env, free_port, http_get, wait_for_http
from django.conf import settings

import djng
from djng.testing import Client

from .conftest import csrf_token


@pytest.fixture
def ada(database, notes):
    return djng.auth.User.objects.create_superuser("ada", "ada@example.com", "pw")


def log_in(notes, username="ada", password="pw") -> Client:
    client = Client(notes.app)
    page = client.get("/login")
    response = client.post(
        "/login?next=/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert (response.status_code, response["Location"]) == (302, "/"), response.content[:500]
    return client


def test_the_model_is_an_app_named_after_the_file(notes):
    assert notes.Note._meta.app_label == "notes"
    assert notes.Note._meta.db_table == "notes_note"


def test_anonymous_visitors_are_sent_to_log_in(notes, database):
    client = Client(notes.app)
    assert client.get("/")["Location"] == "/login?next=/"
    page = client.get("/login")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b"csrfmiddlewaretoken" in page.content
    api = client.get("/api/notes", headers={"Accept": "application/json"})
    assert api.status_code == 401


def test_log_in_write_notes_flash_and_json(notes, ada):
    client = log_in(notes)
    page = client.get("/")
    assert b"No notes yet." in page.content
    response = client.post(
        "/", data={"title": "First", "body": "Hello", "csrfmiddlewaretoken": csrf_token(page)}
    )
    assert (response.status_code, response["Location"]) == (302, "/")
    page = client.get("/")
    assert "Saved “First”." in page.content.decode()  # the flash message, once
    assert b"<strong>First</strong>" in page.content
    assert "Saved “First”." not in client.get("/").content.decode()
    data = client.get("/api/notes").json()
    assert [(n["title"], n["body"]) for n in data] == [("First", "Hello")]
    assert data[0]["created"].endswith("Z")


def test_the_session_persists_and_logout_ends_it(notes, ada):
    client = log_in(notes)
    for _ in range(3):
        assert client.get("/").status_code == 200
    page = client.get("/")
    response = client.post("/logout", data={"csrfmiddlewaretoken": csrf_token(page)})
    assert response["Location"] == "/login"
    assert client.get("/")["Location"] == "/login?next=/"


def test_invalid_note_re_renders_with_errors_and_writes_nothing(notes, ada):
    client = log_in(notes)
    page = client.get("/")
    response = client.post(
        "/", data={"title": "", "body": "kept", "csrfmiddlewaretoken": csrf_token(page)}
    )
    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert b"kept" in response.content
    assert notes.Note.objects.count() == 0


def test_a_post_without_the_token_is_refused(notes, ada):
    client = log_in(notes)
    response = client.post("/", data={"title": "sneaky"})
    assert response.status_code == 403
    assert b"CSRF token missing" in response.content
    assert notes.Note.objects.count() == 0


def test_a_tampered_session_cookie_is_no_session(notes, ada):
    client = log_in(notes)
    client.cookies[settings.SESSION_COOKIE_NAME] = "forged-session-key-1234567890"
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/login?next=/")


def test_notes_belong_to_their_author(notes, ada):
    other = djng.auth.User.objects.create_user("bob", password="pw")
    notes.Note.objects.create(author=other, title="Bob's")
    client = log_in(notes)
    assert client.get("/api/notes").json() == []
    assert b"Bob&#x27;s" not in client.get("/").content


@pytest.mark.filterwarnings("ignore:djng.static.root='static'. is relative")
def test_the_admin_is_mounted_at_admin(notes, ada):
    client = log_in(notes)  # the app's session is the admin's session
    index = client.get("/admin/")
    assert index.status_code == 200
    assert b'href="/admin/notes/note/"' in index.content
    form = client.get("/admin/notes/note/add/")
    response = client.post(
        "/admin/notes/note/add/",
        data={"author": ada.pk, "title": "From the admin", "csrfmiddlewaretoken": csrf_token(form)},
    )
    assert response.status_code == 302
    assert b"From the admin" in client.get("/admin/notes/note/").content
    assert client.get("/api/notes").json()[0]["title"] == "From the admin"
    css = client.get("/static/admin/css/base.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")


def test_python_notes_py_serves_and_creates_its_database(tmp_path, spawn):
    app = tmp_path / "notes.py"
    shutil.copy(EXAMPLES / "notes.py", app)
    port = free_port()
    serve = "djng.serve(app, debug=True)"
    app.write_text(app.read_text().replace(serve, f"djng.serve(app, port={port}, debug=True)"))
    proc = spawn([sys.executable, str(app)], cwd=tmp_path, env=child_env())
    status, _, body = wait_for_http(f"http://127.0.0.1:{port}/", proc)  # redirected to log in
    assert status == 200 and b"csrfmiddlewaretoken" in body and b'name="username"' in body
    status, _, body = http_get(
        f"http://127.0.0.1:{port}/api/notes", headers={"Accept": "application/json"}
    )
    assert status == 401 and b"Log in first." in body
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "db.sqlite3").execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"notes_note", "auth_user", "django_session", "django_admin_log"} <= tables
    assert (tmp_path / ".djng-secret-key").exists()
    assert not (tmp_path / "migrations").exists()
