"""``djng.hosts``: which Host headers an app answers (Django's ALLOWED_HOSTS)."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import run_python
from werkzeug.test import EnvironBuilder

import djng
from djng.testing import Client


def where(request):
    return {"host": request.get_host(), "url": request.build_absolute_uri("/reset/abc")}


def call(app, host, headers=None):
    """(status, body) of one request with ``host`` sent straight to ``djng.wsgi(app)``."""
    environ = EnvironBuilder(path="/", base_url=f"http://{host}", headers=headers).get_environ()
    seen = []
    body = djng.wsgi(app)(environ, lambda status, headers, exc_info=None: seen.append(status))
    try:
        return int(seen[0].split()[0]), b"".join(body)
    finally:
        body.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "localhost:8000"])
def test_by_default_only_the_loopback_names_are_answered(host):
    status, body = call(where, host)
    assert status == 200
    assert json.loads(body)["url"] == f"http://{host}/reset/abc"


def test_another_host_gets_a_400_that_says_what_to_configure(caplog):
    with caplog.at_level(logging.ERROR, logger="django.security.DisallowedHost"):
        status, body = call(where, "evil.example", headers={"Accept": "text/plain"})
    assert status == 400
    text = body.decode()
    assert "evil.example" in text
    assert "DJNG_ALLOWED_HOSTS" in text and "djng.hosts.configure" in text
    assert [r.name for r in caplog.records] == ["django.security.DisallowedHost"]


def test_the_view_never_runs_for_a_disallowed_host():
    ran = []
    status, _ = call(lambda request: ran.append(1) or "ran", "evil.example")
    assert (status, ran) == (400, [])


def test_configured_hosts_and_subdomain_patterns():
    djng.hosts.configure(["example.com", ".example.org"])
    assert call(where, "example.com")[0] == 200
    assert call(where, "www.example.org")[0] == 200
    assert call(where, "example.org")[0] == 200
    assert call(where, "localhost")[0] == 400  # configured hosts replace the loopback names
    assert call(where, "example.com.evil.example")[0] == 400


def test_a_comma_separated_string_and_the_environment(monkeypatch):
    djng.hosts.configure("a.example, b.example")
    assert djng.hosts.current() == ("a.example", "b.example")
    djng.hosts.reset()
    monkeypatch.setenv("DJNG_ALLOWED_HOSTS", "env.example")
    assert call(where, "env.example")[0] == 200
    assert call(where, "a.example")[0] == 400


def test_bad_hosts_are_refused_at_configure_time():
    with pytest.raises(TypeError, match="djng.hosts"):
        djng.hosts.configure(42)
    with pytest.raises(ValueError, match="not a host name"):
        djng.hosts.configure(["https://example.com/"])
    with pytest.raises(ValueError, match="at least one"):
        djng.hosts.configure([])


def test_the_test_client_host_is_answered_as_under_djangos_test_runner():
    djng.hosts.configure(["example.com"])
    response = Client(where).get("/")
    assert response.json() == {"host": "testserver", "url": "http://testserver/reset/abc"}
    assert Client(where, base_url="http://example.com").get("/").status_code == 200
    assert Client(where, base_url="http://evil.example").get("/").status_code == 400


def test_a_production_start_without_hosts_warns_once():
    result = run_python(
        """
import logging, sys
logging.basicConfig(stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
import djng
site = {"__name__": "site"}  # apps of a module, as a server imports them
exec("a = b = c = lambda request: 'hi'", site)
djng.wsgi(site["a"])
djng.wsgi(site["b"])
djng.hosts.configure(["example.com"])
djng.wsgi(site["c"])
"""
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "DJNG_ALLOWED_HOSTS" in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("djng WARNING")


def test_no_warning_for_the_app_of_the_script_being_run():
    """``application = djng.wsgi(app)`` in an app.py that ends with djng.serve(app):
    ``python app.py`` is a development run (a server imports the module by name)."""
    result = run_python(
        """
import logging, sys
logging.basicConfig(stream=sys.stdout)
import djng
djng.wsgi(lambda request: "a")
"""
    )
    assert result.returncode == 0, result.stderr
    assert "DJNG_ALLOWED_HOSTS" not in result.stdout


def test_no_warning_when_debugging_or_configured_by_the_environment():
    result = run_python(
        """
import logging, os, sys
logging.basicConfig(stream=sys.stdout)
os.environ["DJNG_ALLOWED_HOSTS"] = "example.com"
import djng
djng.wsgi(lambda request: "a")
del os.environ["DJNG_ALLOWED_HOSTS"]
djng.hosts.reset()
djng.debug.configure(True)
djng.wsgi(lambda request: "b")
"""
    )
    assert result.returncode == 0, result.stderr
    assert "DJNG_ALLOWED_HOSTS" not in result.stdout
