"""``import djng`` in a fresh interpreter, and what a hello-world request does not touch."""

from __future__ import annotations

import json
import textwrap

from conftest import run_python


def run_json(code: str) -> dict:
    proc = run_python(textwrap.dedent(code))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_configures_django_without_settings_module():
    result = run_json(
        """
        import json, os, warnings
        warnings.simplefilter("error")
        assert "DJANGO_SETTINGS_MODULE" not in os.environ
        import djng
        from django.conf import settings
        print(json.dumps({
            "configured": settings.configured,
            "owns": djng.conf.owns_settings,
            "debug": settings.DEBUG,
            "response_is_django": djng.Response.__module__,
        }))
        """
    )
    assert result == {
        "configured": True,
        "owns": True,
        "debug": False,
        "response_is_django": "django.http.response",
    }


# Records every database connection, template engine and e-mail backend that is
# created, then serves a hello-world request. The second part is the control:
# a view that does use them must be seen by the same probes.
PROBE = """
import json, sys
import djng
from django.db.backends.base.base import BaseDatabaseWrapper
from django.core.mail.backends.base import BaseEmailBackend
from django.template.backends.base import BaseEngine
from django.template.engine import Engine
# Django's own module-level DEBUG_ENGINE is built when django.views.debug is first
# imported (django.setup() does, for the logging config); it is not an app engine.
import django.views.debug

created = []

def record(cls, label):
    original = cls.__init__
    def __init__(self, *args, **kwargs):
        created.append(label)
        original(self, *args, **kwargs)
    cls.__init__ = __init__

record(BaseDatabaseWrapper, "db")
record(BaseEmailBackend, "mail")
record(BaseEngine, "template backend")
record(Engine, "template engine")

def state():
    from django.db import connections
    from django.template import engines
    return {
        "created": sorted(set(created)),
        "db_connections": [c.alias for c in connections.all(initialized_only=True)],
        "template_engines": sorted(engines._engines),
    }

def index(request):
    return djng.Response("Hello, world")

client = djng.testing.Client(index)
response = client.get("/")
assert response.status_code == 200 and response.content == b"Hello, world", response
hello = state()

def heavy(request):
    from django.core import mail
    from django.db import connections
    from django.template import engines
    connections["default"]
    mail.get_connection()
    Engine().from_string("{{ x }}")
    engines.all()
    return djng.Response(djng.__name__)

%s
print(json.dumps({"hello": hello, "heavy": state()}))
"""


def test_hello_world_request_touches_no_database_templates_or_mail():
    result = run_json(PROBE % "")
    assert result["hello"] == {"created": [], "db_connections": [], "template_engines": []}


def test_probe_detects_database_templates_and_mail():
    # The control for the test above: the same probes see a view that uses them.
    result = run_json(PROBE % "assert djng.testing.Client(heavy).get('/').status_code == 200")
    assert result["hello"]["created"] == []
    heavy = result["heavy"]
    assert {"db", "mail", "template engine"} <= set(heavy["created"])
    assert heavy["db_connections"] == ["default"]


def test_import_after_settings_configure_warns_once_and_serves():
    result = run_json(
        """
        import json, warnings
        from django.conf import settings
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], MY_SETTING="host")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import djng
            import djng.testing
        response = djng.testing.Client(lambda request: "still works").get("/")
        print(json.dumps({
            "warnings": [(w.category.__module__ + "." + w.category.__name__, str(w.message))
                         for w in caught],
            "owns": djng.conf.owns_settings,
            "kept": settings.MY_SETTING,
            "status": response.status_code,
            "body": response.content.decode(),
        }))
        """
    )
    assert len(result["warnings"]) == 1
    category, message = result["warnings"][0]
    assert category == "djng.conf.DjangoAlreadyConfigured"
    assert "configured before djng" in message
    assert result["owns"] is False
    assert result["kept"] == "host"
    assert (result["status"], result["body"]) == (200, "still works")


def test_exports():
    import django.http
    import django.shortcuts

    import djng

    assert djng.Response is django.http.HttpResponse
    assert djng.JsonResponse is django.http.JsonResponse
    assert djng.StreamingResponse is django.http.StreamingHttpResponse
    assert djng.FileResponse is django.http.FileResponse
    assert djng.Http404 is django.http.Http404
    assert djng.redirect is django.shortcuts.redirect
    for name in djng.__all__:
        assert hasattr(djng, name), name


def test_batteries_used_after_the_registry_is_ready_are_installed_then():
    result = run_json(
        """
        import json
        import djng, djng.testing
        from django.apps import apps
        djng.registry.setup()  # populated without Django's auth, as serving a hello does
        before = apps.is_installed("django.contrib.auth")
        djng.secrets.configure("k" * 50)

        def whoami(request):
            return {"user": str(request.user), "authenticated": request.user.is_authenticated}

        with djng.db.use(djng.db.SQLite(":memory:")):
            djng.db.create_tables()
            response = djng.testing.Client(djng.auth(whoami)).get("/")
        print(json.dumps({
            "before": before,
            "after": apps.is_installed("django.contrib.auth"),
            "body": response.json(),
            "labels": sorted(c.label for c in apps.get_app_configs()),
        }))
        """
    )
    assert result["before"] is False and result["after"] is True
    assert result["body"] == {"user": "AnonymousUser", "authenticated": False}
    assert {"auth", "contenttypes", "sessions", "messages", "admin"} <= set(result["labels"])


def test_the_public_namespaces_import_the_way_they_read():
    result = run_python(
        textwrap.dedent(
            """
            from djng.cache import LocMem
            from djng.db import SQLite
            from djng.settings import AlreadyRead
            from djng.auth import User, login_required
            import djng.mail, djng.commands, djng.testing
            import djng
            assert LocMem is djng.cache.LocMem and SQLite is djng.db.SQLite
            assert AlreadyRead is djng.settings.AlreadyRead
            assert login_required is djng.login_required and User is djng.auth.User
            assert callable(djng.auth) and callable(djng.commands.call)
            print("ok")
            """
        )
    )
    assert result.stdout.strip() == "ok", result.stderr
