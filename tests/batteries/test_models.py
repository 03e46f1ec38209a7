"""Models in one file: app labels from modules, create_tables, and the ORM following djng.db."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connections

import djng
from djng import models
from djng.testing import Client


class Author(djng.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self):
        return self.name


class PublishedManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(published=True)


class Stamped(djng.Model):
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["title"]


class Book(Stamped):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    owner = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField("Tag", blank=True)
    published = models.BooleanField(default=False)

    objects = models.Manager()
    public = PublishedManager()


class Tag(djng.Model):
    name = models.CharField(max_length=20)

    class Meta:
        db_table = "custom_tag_table"
        verbose_name = "label"


def define_module(name: str, source: str) -> types.ModuleType:
    """Run ``source`` as the module ``name`` (registered in sys.modules, as an import would)."""
    module = types.ModuleType(name)
    module.__file__ = f"/nonexistent/{name.replace('.', '/')}.py"
    sys.modules[name] = module
    exec(compile(textwrap.dedent(source), module.__file__, "exec"), module.__dict__)
    return module


def test_a_model_module_is_an_app_named_after_it():
    label = __name__.rsplit(".", 1)[-1]
    assert label == "test_models"
    assert Book._meta.app_label == label
    assert Book._meta.db_table == "test_models_book"
    config = apps.get_app_config(label)
    assert config.models_module is sys.modules[__name__]
    assert set(config.models) >= {"author", "book", "tag"}
    assert apps.get_model("test_models", "Book") is Book
    assert djng.Model is djng.models.Model


def test_meta_options_inheritance_and_managers_work_as_in_django():
    assert Book._meta.ordering == ["title"]  # inherited from the abstract base's Meta
    assert Tag._meta.db_table == "custom_tag_table"
    assert Tag._meta.verbose_name == "label"
    assert Stamped._meta.abstract
    assert [f.name for f in Book._meta.get_fields() if f.name == "created"] == ["created"]


def test_create_tables_and_queries_relations_and_managers(database):
    ada = Author.objects.create(name="Ada")
    user = djng.auth.User.objects.create_user("grace", password="pw")
    book = Book.objects.create(title="B", author=ada, owner=user, published=True)
    Book.objects.create(title="A", author=ada)
    book.tags.add(Tag.objects.create(name="math"))
    assert [b.title for b in Book.objects.all()] == ["A", "B"]
    assert [b.title for b in Book.public.all()] == ["B"]
    assert list(ada.books.filter(tags__name="math")) == [book]
    assert Book.objects.get(owner__username="grace") == book
    assert book._state.db == database.alias


def test_create_tables_creates_only_what_is_missing(database):
    assert djng.db.create_tables() == []
    with connections[database.alias].schema_editor() as editor:
        editor.delete_model(Author)
    assert djng.db.create_tables() == [Author]
    assert Author.objects.count() == 0


def test_create_tables_of_some_models_only():
    database = djng.db.SQLite(":memory:")
    created = djng.db.create_tables(Author, database=database)
    assert created == [Author]
    tables = connections[database.alias].introspection.table_names()
    assert tables == ["test_models_author"]


def test_the_orm_follows_the_database_in_effect(database):
    other = djng.db.SQLite(":memory:")
    with djng.db.use(other):
        djng.db.create_tables()
        Author.objects.create(name="only in other")
    assert Author.objects.count() == 0
    with djng.db.use(other):
        assert Author.objects.get().name == "only in other"
    # A queryset built outside a scope runs where it is evaluated.
    query = Author.objects.all()
    with djng.db.use(other):
        assert len(query) == 1


def test_atomic_rolls_back_on_the_database_in_effect(database):
    with pytest.raises(RuntimeError), djng.db.atomic():
        Author.objects.create(name="rolled back")
        raise RuntimeError("boom")
    assert not Author.objects.exists()
    with djng.db.atomic():
        Author.objects.create(name="kept")
    assert Author.objects.count() == 1


def test_a_view_can_push_another_database(database):
    archive = djng.db.SQLite(":memory:")
    with djng.db.use(archive):
        djng.db.create_tables()

    def write(request):
        if request.GET.get("archive"):
            djng.db.push(archive)
        Author.objects.create(name=request.GET["name"])
        return {"count": Author.objects.count()}

    client = Client(write)
    assert client.get("/", {"name": "a"}).json() == {"count": 1}
    assert client.get("/", {"name": "b", "archive": "1"}).json() == {"count": 1}
    assert client.get("/", {"name": "c"}).json() == {"count": 2}
    with djng.db.use(archive):
        assert [a.name for a in Author.objects.all()] == ["b"]


def test_two_modules_are_two_apps_and_model_names_do_not_collide():
    shop = define_module(
        "shop.models",
        """
        import djng
        from djng import models

        class Item(djng.Model):
            price = models.IntegerField()
        """,
    )
    blog = define_module(
        "blog",
        """
        import djng
        from djng import models

        class Item(djng.Model):
            text = models.TextField()
            shop_item = models.ForeignKey("shop.Item", null=True, on_delete=models.SET_NULL)
        """,
    )
    assert shop.Item._meta.label == "shop.Item"
    assert blog.Item._meta.label == "blog.Item"
    assert blog.Item._meta.get_field("shop_item").related_model is shop.Item
    database = djng.db.SQLite(":memory:")
    with djng.db.use(database):
        djng.db.create_tables(shop.Item, blog.Item)
        item = shop.Item.objects.create(price=3)
        blog.Item.objects.create(text="x", shop_item=item)
        assert blog.Item.objects.get().shop_item.price == 3


def test_an_explicit_app_label_is_honoured():
    module = define_module(
        "labelled_module",
        """
        import djng
        from djng import models

        class Thing(djng.Model):
            class Meta:
                app_label = "inventory"
        """,
    )
    assert module.Thing._meta.app_label == "inventory"
    assert apps.get_app_config("inventory").get_model("thing") is module.Thing


def test_a_module_that_would_take_an_installed_apps_label_is_an_error():
    with pytest.raises(RuntimeError, match="'auth'.*already uses that label.*app_label"):
        define_module(
            "auth",
            """
            import djng

            class Thing(djng.Model):
                pass
            """,
        )


def test_two_different_modules_with_the_same_name_are_an_error():
    define_module(
        "one.widgets",
        """
        import djng

        class Widget(djng.Model):
            pass
        """,
    )
    with pytest.raises(RuntimeError, match="one.widgets and of two.widgets|two.widgets and of one"):
        define_module(
            "two.widgets",
            """
            import djng

            class Gadget(djng.Model):
                pass
            """,
        )


def test_migrations_folder_is_next_to_the_module():
    from djng.models import migrations_dir

    folder = migrations_dir("test_models")
    assert folder == Path(__file__).parent / "migrations" / "test_models"
    assert migrations_dir("auth") is None
