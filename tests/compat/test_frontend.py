"""django-cors-headers, django-htmx, WhiteNoise and the debug toolbar: examples/cors_htmx.py."""

from __future__ import annotations

from conftest import EXAMPLES, child_env, free_port, gunicorn_command, http_get, wait_for_http

from .conftest import SECRET_KEY, require

NEEDS = ("corsheaders", "django_htmx", "whitenoise", "debug_toolbar")

SETUP = """
import re
site = load("cors_htmx")
client = Client(site.app)
"""


def test_cors_allows_the_configured_origin_only(check):
    check(SETUP, """
    allowed = client.get("/api/time", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "origin" in allowed.headers["Vary"].lower()
    refused = client.get("/api/time", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 200 and "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options("/api/time", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    """, needs=NEEDS)


def test_cors_settings_scoped_to_part_of_an_app(check):
    check("""
    djng.install("corsheaders")
    from corsheaders.middleware import CorsMiddleware
    djng.settings(CORS_ALLOWED_ORIGINS=["https://site.example"])
    # A scoped setting is seen by the code that runs inside the scope: the
    # middleware that reads it goes inside the reconfigured part.
    cors = djng.middleware(CorsMiddleware)
    ok = lambda request: {"ok": True}
    partners = djng.reconfigure(cors(djng.Router(djng.path("data", ok))),
                                settings={"CORS_ALLOWED_ORIGINS": ["https://partner.example"]})
    app = djng.Router(djng.mount("partners", partners),
                      djng.mount("", cors(djng.Router(djng.path("data", ok)))))
    client = Client(app)
    def allowed(path, origin):
        response = client.get(path, headers={"Origin": origin})
        return response.headers.get("Access-Control-Allow-Origin")
    assert allowed("/data", "https://site.example") == "https://site.example"
    assert allowed("/data", "https://partner.example") is None
    assert allowed("/partners/data", "https://partner.example") == "https://partner.example"
    assert allowed("/partners/data", "https://site.example") is None
    # the scope ends with its request: the process-wide value is back
    from django.conf import settings
    assert settings.CORS_ALLOWED_ORIGINS == ["https://site.example"]
    """, needs=("corsheaders",))


def test_htmx_middleware_template_tag_and_its_static_script(check):
    check(SETUP, """
    page = client.get("/")
    scripts = re.findall(rb'<script src="([^"]+)"', page.content)
    assert scripts == [b"/static/django_htmx/htmx-2.min.js"], page.content
    script = client.get(scripts[0].decode())  # WhiteNoise serves it, from the app's static/
    assert script.status_code == 200 and b"htmx" in script.content
    assert script.headers["Content-Type"].startswith("text/javascript")
    htmx = client.get("/fragment", headers={"HX-Request": "true"})
    assert b"an htmx request: yes" in htmx.content
    assert b"an htmx request: no" in client.get("/fragment").content
    """, needs=NEEDS)


def test_whitenoise_as_a_wsgi_wrapper_around_djng_wsgi(check, tmp_path):
    (tmp_path / "robots.txt").write_text("User-agent: *\\n")
    check(f"""
    from werkzeug.test import Client as WSGIClient
    from whitenoise import WhiteNoise
    app = djng.Router(djng.path("", lambda request: "home"))
    application = WhiteNoise(djng.wsgi(app), root={str(tmp_path)!r}, prefix="files")
    client = WSGIClient(application)
    robots = client.get("/files/robots.txt")
    assert robots.status_code == 200 and robots.data.startswith(b"User-agent"), robots.data
    assert client.get("/").data == b"home"
    assert client.get("/files/missing.txt").status_code == 404
    """, needs=("whitenoise",))


def test_the_debug_toolbar_follows_djng_debug(check):
    check(SETUP, """
    assert b"djDebug" not in client.get("/").content  # debugging off: no toolbar
    djng.debug.configure(True)
    page = client.get("/")
    assert b'id="djDebug"' in page.content
    assert b"djDebug" not in Client(site.app, remote_addr="10.1.2.3").get("/").content
    request_id = re.search(rb'data-request-id="([^"]+)"', page.content).group(1).decode()
    panel = client.get(f"/__debug__/render_panel/?request_id={request_id}&panel_id=TemplatesPanel")
    assert panel.status_code == 200 and "page.html" in panel.json()["content"]
    """, needs=NEEDS)


def test_the_debug_toolbar_records_the_orm_queries_of_djng_db(check):
    check("""
    import re
    djng.settings(DEBUG_TOOLBAR_CONFIG={"SHOW_TOOLBAR_CALLBACK": lambda request: True})
    djng.install("debug_toolbar")
    from debug_toolbar.middleware import DebugToolbarMiddleware
    from djng import models
    class Thing(djng.Model):
        name = models.CharField(max_length=10)
    def page(request):
        return djng.Response(f"<html><body>{Thing.objects.count()} things</body></html>")
    app = djng.middleware(DebugToolbarMiddleware)(djng.Router(
        djng.path("", page), djng.mount("__debug__", "debug_toolbar.urls")))
    djng.db.configure(djng.db.SQLite(":memory:"))
    djng.commands.call("migrate", "--run-syncdb", verbosity=0)
    client = Client(app)
    page = client.get("/")
    request_id = re.search(rb'data-request-id="([^"]+)"', page.content).group(1).decode()
    sql = client.get(f"/__debug__/render_panel/?request_id={request_id}&panel_id=SQLPanel")
    assert "COUNT(*)" in sql.json()["content"], sql.json()["content"][:500]
    """, needs=("debug_toolbar",))


def test_the_example_served_by_gunicorn(spawn):
    require(*NEEDS, "gunicorn")
    port = free_port()
    env = child_env(DJNG_SECRET_KEY=SECRET_KEY)
    proc = spawn(gunicorn_command(port, "cors_htmx:application", EXAMPLES), env=env)
    base = f"http://127.0.0.1:{port}"
    status, _, page = wait_for_http(f"{base}/", proc)
    assert status == 200 and b"htmx-2.min.js" in page
    status, headers, script = http_get(f"{base}/static/django_htmx/htmx-2.min.js")
    assert status == 200 and len(script) > 10_000
    status, headers, _ = http_get(f"{base}/api/time", headers={"Origin": "https://app.example"})
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
