"""djng.static: content types, caching headers, no path traversal, matching {% static %} URLs."""

from __future__ import annotations

import os

import pytest

import djng
from djng.testing import Client

PAGE = djng.templates.Django(strings={"page.html": "{% load static %}{% static 'site.css' %}"})


def page(request):
    return djng.TemplateResponse(request, "page.html")


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "static"
    (root / "css").mkdir(parents=True)
    (root / "site.css").write_text("body { color: red }")
    (root / "css" / "deep.css").write_text("p {}")
    (root / "app.js").write_text("alert(1)")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n")
    (root / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "secret.txt").write_text("top secret")
    (root / "sub").mkdir()
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink(root / "site.css", root / "alias.css")
    return root


@pytest.fixture
def client(files):
    app = djng.static(djng.Router(djng.path("", page)), root=files)
    return Client(djng.reconfigure(app, templates=PAGE))


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("site.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("logo.png", "image/png"),
        ("data.bin", "application/octet-stream"),
        ("css/deep.css", "text/css; charset=utf-8"),
        ("alias.css", "text/css; charset=utf-8"),  # a symlink that stays inside the root
    ],
)
def test_files_are_served_with_their_content_type(client, files, name, content_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] in (content_type, content_type.replace("text/", "application/"))
    assert b"".join(response.streaming_content) == (files / name).read_bytes()
    assert response["Content-Length"] == str((files / name).stat().st_size)
    assert response["X-Content-Type-Options"] == "nosniff"


def test_caching_headers_and_conditional_requests(client):
    response = client.get("/static/site.css")
    assert response["Cache-Control"] == "no-cache"
    etag, modified = response["ETag"], response["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = client.get("/static/site.css", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag
    since = client.get("/static/site.css", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    stale = client.get("/static/site.css", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_a_changed_file_gets_a_new_etag(client, files):
    etag = client.get("/static/site.css")["ETag"]
    (files / "site.css").write_text("body { color: blue; }")
    os.utime(files / "site.css", (1, 2_000_000_000))
    response = client.get("/static/site.css", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response["ETag"] != etag


def test_head_has_the_headers_without_the_body(client):
    response = client.head("/static/site.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/css/../../secret.txt",
        "/static/./site.css",
        "/static/..\\secret.txt",
        "/static/..%5csecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/" + os.path.join(os.sep, "etc", "passwd").lstrip("/"),
        "/static/site.css%00.png",
        "/static/escape.txt",  # a symlink out of the root
        "/static/sub",  # a folder
        "/static/sub/",
        "/static/",
        "/static/missing.css",
        "/static/%252e%252e/secret.txt",
    ],
)
def test_nothing_outside_the_root_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"top secret" not in response.content


def test_an_absolute_path_under_the_prefix_is_not_absolute(client, files):
    # "/static//<tmp>/secret.txt" names <root>/<tmp>/secret.txt, which does not exist.
    assert client.get(f"/static/{files.parent}/secret.txt").status_code == 404


def test_other_methods_are_not_allowed(client):
    response = client.post("/static/site.css")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_other_paths_reach_the_app_and_static_urls_match(client):
    assert client.get("/").content == b"/static/site.css"
    assert client.get("/static").status_code == 404  # the app has no such route


def test_a_custom_prefix_gives_matching_static_urls(files):
    app = djng.reconfigure(
        djng.static(djng.Router(djng.path("", page)), prefix="assets", root=files),
        templates=PAGE,
    )
    client = Client(app)
    url = client.get("/").content.decode()
    assert url == "/assets/site.css"
    assert client.get(url).status_code == 200
    assert client.get("/static/site.css").status_code == 404


def test_static_urls_follow_a_mount_prefix(files):
    inner = djng.static(djng.Router(djng.path("", page)), root=files)
    client = Client(djng.reconfigure(djng.Router(djng.mount("shop", inner)), templates=PAGE))
    url = client.get("/shop/").content.decode()
    assert url == "/shop/static/site.css"
    assert client.get(url).status_code == 200


def test_installed_apps_static_files_are_served(files):
    djng.registry.install_batteries()
    client = Client(djng.static(lambda request: "app", root=files))
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    no_apps = Client(djng.static(lambda request: "app", root=files, app_dirs=False))
    assert no_apps.get("/static/admin/css/base.css").status_code == 404


def test_a_relative_root_is_relative_to_the_app_folder(tmp_path, monkeypatch, files):
    monkeypatch.setenv("DJNG_APP_DIR", str(files.parent))
    monkeypatch.chdir(tmp_path / "static" / "css")  # never the working directory
    client = Client(djng.static(lambda request: "app", root="static"))
    assert client.get("/static/site.css").status_code == 200


def test_bad_arguments_fail_at_definition():
    with pytest.raises(ValueError, match="needs a path"):
        djng.static(page, prefix="/")
    with pytest.raises(TypeError, match="needs a view"):
        djng.static("not an app")
