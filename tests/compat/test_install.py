"""djng.install(): third-party apps as INSTALLED_APPS would add them, and its errors."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, child_env

from .conftest import SECRET_KEY, TIMEOUT, require


def test_models_migrations_template_tags_and_templates_of_installed_apps(check):
    check("""
    djng.settings(SITE_ID=1)
    djng.install("django.contrib.sites", "django.contrib.flatpages", "django.contrib.humanize")
    djng.install("django.contrib.humanize")  # again: nothing changes
    from django.conf import settings
    assert settings.INSTALLED_APPS.count("django.contrib.humanize") == 1
    djng.db.configure(djng.db.SQLite(":memory:"))
    djng.commands.call("migrate", verbosity=0)  # flatpages' and sites' migrations
    from django.contrib.flatpages.models import FlatPage
    from django.contrib.sites.models import Site
    page = FlatPage.objects.create(url="/about/", title="About", content="<p>hi</p>")
    page.sites.add(Site.objects.get())
    pages = djng.templates.Django(strings={
        "t": "{% load humanize flatpages %}{{ 1234567|intcomma }} "
             "{% get_flatpages as pages %}{% for p in pages %}{{ p.title }}{% endfor %}"})
    app = djng.reconfigure(djng.Router(djng.path("", lambda request: djng.render(request, "t"))),
                           templates=pages)
    assert Client(app).get("/").content == b"1,234,567 About"
    """)


def test_an_app_defined_before_install_keeps_its_models(check):
    check("""
    from djng import models
    class Note(djng.Model):
        text = models.TextField()
    djng.install("django.contrib.humanize")
    from django.apps import apps
    assert apps.get_model(Note._meta.app_label, "Note") is Note
    assert apps.is_installed("django.contrib.humanize")
    """)


def test_install_errors_name_the_fix(check, tmp_path):
    package = tmp_path / "clashing"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "apps.py").write_text(
        "from django.apps import AppConfig\n"
        "class Clash(AppConfig):\n    name = 'clashing'\n    label = 'auth'\n")
    check(f"""
    import sys
    sys.path.insert(0, {str(tmp_path)!r})
    def error_of(*names):
        try:
            djng.install(*names)
        except Exception as exc:
            return type(exc).__name__, str(exc)
        raise AssertionError("no error")
    kind, text = error_of("no_such_package_here")
    assert kind == "ImportError" and "pip install" in text and "no_such_package_here" in text, text
    kind, text = error_of("clashing.apps.Clash")
    assert kind == "ImproperlyConfigured" and "label 'auth' is taken" in text, text
    assert error_of()[0] == error_of(42)[0] == "TypeError"
    from django.conf import settings
    assert not any("clashing" in name or "no_such" in name for name in settings.INSTALLED_APPS)
    """)


def test_install_after_the_first_request_is_refused(check):
    check("""
    Client(djng.Router(djng.path("", lambda request: "hi"))).get("/")
    try:
        djng.install("django.contrib.humanize")
    except RuntimeError as exc:
        assert "after the first request" in str(exc) and "top of app.py" in str(exc), exc
    else:
        raise AssertionError("installed after serving")
    """)


def test_install_when_django_was_configured_by_the_host(check):
    check("""
    try:
        djng.install("django.contrib.humanize")
    except RuntimeError as exc:
        assert "INSTALLED_APPS is the host's" in str(exc), exc
    else:
        raise AssertionError("installed into a host's settings")
    """, before_djng="""
    from django.conf import settings
    settings.configure(INSTALLED_APPS=[])
    """)


def test_system_checks_of_installed_apps_run(check):
    out = check("""
    djng.settings(CORS_ALLOWED_ORIGINS=["app.example"])  # no scheme: corsheaders says so
    djng.install("corsheaders")
    from django.core.management.base import SystemCheckError
    try:
        djng.commands.call("check")
    except SystemCheckError as exc:
        assert "corsheaders.E013" in str(exc), exc
    else:
        raise AssertionError("the check passed")
    """, needs=("corsheaders",))
    assert out == ""


def test_the_drf_example_commands_migrate_createsuperuser_and_a_token(tmp_path):
    require("rest_framework")
    env = child_env(DJNG_SECRET_KEY=SECRET_KEY, DJNG_DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
                    DJANGO_SUPERUSER_PASSWORD="pw-for-tests")

    def command(*args):
        result = subprocess.run(
            [sys.executable, "examples/api_drf.py", *args], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "authtoken" in command("migrate")
    command("createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.com")
    out = command("drf_create_token", "ada")
    assert "Generated token" in out and "for user ada" in out, out
