"""djng.storage: storages as plain objects, and Django's file helpers following the stack."""

from __future__ import annotations

import os

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.template import Context, Template

import djng
from djng import registry
from djng.services.stack import _UNSET
from djng.testing import Client

registry.setup()

from django.db import models  # noqa: E402


class Document(models.Model):
    title = models.CharField(max_length=50)
    file = models.FileField(upload_to="docs")

    class Meta:
        app_label = "svc_tests"


@pytest.fixture
def database():
    """A fresh in-memory database with the Document table, in effect for the test."""
    database = djng.db.SQLite(":memory:")
    with database.connection.schema_editor() as editor:
        editor.create_model(Document)
    with djng.db.use(database):
        yield database
    database.connection.close()


# -- storages without any stack ---------------------------------------------------------------


def test_filesystem_creates_its_root_only_on_first_write(tmp_path):
    root = tmp_path / "media"
    storage = djng.storage.FileSystem(root, "/files/")
    assert not root.exists()
    assert storage.url("a.txt") == "/files/a.txt"
    assert not storage.exists("a.txt")
    assert not root.exists()
    name = storage.save("sub/a.txt", ContentFile(b"hello"))
    assert (root / name).read_bytes() == b"hello"
    assert storage.url(name) == f"/files/{name}"
    assert storage.exists(name)


def test_filesystem_static_is_beside_root_at_static_url(tmp_path):
    storage = djng.storage.FileSystem(tmp_path / "media", static_url="https://cdn.example/s/")
    assert storage.static.url("app.css") == "https://cdn.example/s/app.css"
    assert storage.static.path("app.css") == str(tmp_path / "static" / "app.css")
    explicit = djng.storage.FileSystem(tmp_path / "m", static_root=tmp_path / "assets")
    assert explicit.static.path("x.js") == str(tmp_path / "assets" / "x.js")
    assert explicit.static.url("x.js") == "/static/x.js"


def test_memory_storage_keeps_files_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = djng.storage.Memory(), djng.storage.Memory("/m/")
    name = a.save("x.txt", ContentFile(b"in memory"))
    assert a.open(name).read() == b"in memory"
    assert not b.exists(name)
    assert b.url("y.txt") == "/m/y.txt"
    assert list(tmp_path.iterdir()) == []


def test_filesystem_without_a_root_fails_clearly_on_write_and_never_uses_the_cwd(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    storage = djng.storage.FileSystem(None)
    assert storage.url("a.txt") == "/media/a.txt"  # no folder needed for URLs
    with pytest.raises(ImproperlyConfigured, match=r"djng\.storage has no folder"):
        storage.save("a.txt", ContentFile(b"x"))
    with pytest.raises(ImproperlyConfigured, match=r"djng\.storage"):
        storage.path("a.txt")
    assert list(tmp_path.iterdir()) == []


# -- the service --------------------------------------------------------------------------


def test_the_embedded_default_without_an_app_folder_refuses_to_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    djng.storage.reset()
    assert djng.storage._default is _UNSET
    with pytest.raises(ImproperlyConfigured, match=r"djng\.storage"):
        default_storage.save("a.txt", ContentFile(b"x"))
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_default_is_media_in_the_app_folder(tmp_path, monkeypatch):
    app = tmp_path / "app"
    app.mkdir()
    monkeypatch.setenv("DJNG_APP_DIR", str(app))
    djng.storage.reset()
    assert djng.storage._default is _UNSET
    name = default_storage.save("a.txt", ContentFile(b"x"))
    assert (app / "media" / name).read_bytes() == b"x"
    assert default_storage.url(name) == f"/media/{name}"


def test_attribute_access_forwards_to_the_storage_in_effect():
    default, other = djng.storage.Memory(), djng.storage.Memory()
    djng.storage.configure(default)
    with djng.storage.use(other):
        name = djng.storage.save("f.txt", ContentFile(b"1"))
        assert djng.storage.exists(name)
    assert not djng.storage.exists(name)
    assert other.exists(name)


def test_a_django_storage_is_accepted_and_anything_else_is_not(tmp_path):
    from django.core.files.storage import FileSystemStorage

    plain = FileSystemStorage(location=tmp_path)
    with djng.storage.use(plain):
        assert default_storage.save("p.txt", ContentFile(b"p")) == "p.txt"
    assert (tmp_path / "p.txt").exists()
    with pytest.raises(TypeError, match=r"djng\.storage expects a Django Storage"):
        djng.storage.use(str(tmp_path))


# -- Django follows the stack ---------------------------------------------------------------


def test_default_storage_follows_the_stack(tmp_path):
    disk = djng.storage.FileSystem(tmp_path / "disk", "/disk/")
    memory = djng.storage.Memory("/mem/")
    djng.storage.configure(disk)
    on_disk = default_storage.save("d.txt", ContentFile(b"disk"))
    with djng.storage.use(memory):
        in_memory = default_storage.save("m.txt", ContentFile(b"mem"))
        assert default_storage.exists(in_memory)
        assert not default_storage.exists(on_disk)
        assert default_storage.url(in_memory) == f"/mem/{in_memory}"
        assert isinstance(default_storage, Storage)
    assert default_storage.exists(on_disk)
    assert not default_storage.exists(in_memory)
    assert (tmp_path / "disk" / on_disk).read_bytes() == b"disk"
    assert memory.open(in_memory).read() == b"mem"


def test_a_file_field_saves_and_reads_through_the_storage_in_effect(database):
    a, b = djng.storage.Memory("/a/"), djng.storage.Memory("/b/")
    djng.storage.configure(a)
    doc = Document(title="report")
    doc.file.save("report.txt", ContentFile(b"contents"), save=True)
    assert a.exists(doc.file.name) and not b.exists(doc.file.name)
    assert doc.file.name.startswith("docs/")
    assert doc.file.url == f"/a/{doc.file.name}"

    loaded = Document.objects.get(pk=doc.pk)
    assert loaded.file.read() == b"contents"
    with djng.storage.use(b):
        assert loaded.file.url == f"/b/{doc.file.name}"
        assert not loaded.file.storage.exists(doc.file.name)
        other = Document.objects.create(title="b", file=ContentFile(b"bee", name="bee.txt"))
    assert b.exists(other.file.name) and not a.exists(other.file.name)


def test_static_tag_follows_the_storage_in_effect(tmp_path):
    source = "{% load static %}{% static 'css/app.css' %}"
    cdn_a = djng.storage.FileSystem(tmp_path / "a", static_url="https://cdn-a.example/")
    cdn_b = djng.storage.Memory(static_url="https://cdn-b.example/")
    djng.storage.configure(cdn_a)
    assert Template(source).render(Context()) == "https://cdn-a.example/css/app.css"
    with djng.storage.use(cdn_b):
        assert Template(source).render(Context()) == "https://cdn-b.example/css/app.css"
        assert staticfiles_storage.url("x.js") == "https://cdn-b.example/x.js"
    assert staticfiles_storage.url("x.js") == "https://cdn-a.example/x.js"


def test_static_tag_in_a_view_follows_push_for_one_request(tmp_path):
    djng.storage.configure(djng.storage.Memory(static_url="/plain/"))
    pushed = djng.storage.Memory(static_url="/pushed/")
    engine = djng.templates.Django(strings={"s.html": "{% load static %}{% static 'a.css' %}"})
    djng.templates.configure(engine)

    def view(request):
        if request.GET.get("push"):
            djng.storage.push(pushed)
        return djng.templates.render("s.html")

    client = Client(view)
    assert client.get("/", {"push": 1}).text == "/pushed/a.css"
    assert client.get("/").text == "/plain/a.css"


def test_filesystem_storage_writes_nothing_outside_its_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    with djng.storage.use(djng.storage.FileSystem(root)):
        default_storage.save("nested/deep/f.txt", ContentFile(b"x"))
    assert sorted(os.listdir(tmp_path)) == ["root"]
