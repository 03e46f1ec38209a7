"""Behind a proxy: trusting X-Forwarded-* headers only when told to, over gunicorn."""

from __future__ import annotations

import http.client
import json
import sys
import textwrap

import pytest
from conftest import child_env, free_port, wait_for_http

import djng
from djng.testing import Client

SITE = """
import djng
from django.middleware.csrf import get_token

def info(request):
    request.session["seen"] = True
    get_token(request)
    return {
        "secure": request.is_secure(),
        "host": request.get_host(),
        "remote": request.META["REMOTE_ADDR"],
        "url": request.build_absolute_uri("/next"),
        "script": request.script_name,
    }

def form(request):
    return {"ok": request.method}

app = djng.sessions(djng.Router(djng.path("", info), djng.path("form", form)))
application = djng.wsgi(app)
"""

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "public.example",
}


def request(port, method="GET", path="/", headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def serve(spawn, tmp_path, **env):
    pytest.importorskip("gunicorn")
    (tmp_path / "proxied_site.py").write_text(textwrap.dedent(SITE))
    port = free_port()
    environment = child_env(DJNG_SECRET_KEY="k" * 50, DJNG_ALLOWED_HOSTS="public.example,127.0.0.1",
                            **env)
    # gunicorn itself trusts X-Forwarded-Proto from 127.0.0.1 (--forwarded-allow-ips):
    # told to trust nobody, it leaves every header to djng.
    proc = spawn(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--forwarded-allow-ips", "192.0.2.1", "--chdir", str(tmp_path),
         "proxied_site:application"],
        env=environment,
    )
    wait_for_http(f"http://127.0.0.1:{port}/", proc)
    return port


def test_forwarded_headers_are_ignored_unless_trusted(spawn, tmp_path):
    port = serve(spawn, tmp_path)
    status, headers, body = request(port, headers={**FORWARDED, "Host": "127.0.0.1"})
    assert status == 200
    assert json.loads(body) == {
        "secure": False, "host": "127.0.0.1", "remote": "127.0.0.1",
        "url": "http://127.0.0.1/next", "script": "",
    }
    cookies = headers.get_all("Set-Cookie")
    assert cookies and not any("; secure" in cookie.lower() for cookie in cookies), cookies


def test_trusted_headers_make_scheme_host_client_and_cookies_right(spawn, tmp_path):
    port = serve(
        spawn, tmp_path,
        DJNG_TRUSTED_PROXY_HEADERS="X-Forwarded-For,X-Forwarded-Proto,X-Forwarded-Host",
    )
    status, headers, body = request(port, headers={**FORWARDED, "Host": "127.0.0.1"})
    assert status == 200
    assert json.loads(body) == {
        "secure": True, "host": "public.example", "remote": "203.0.113.7",
        "url": "https://public.example/next", "script": "",
    }
    cookies = headers.get_all("Set-Cookie")
    assert cookies and all("; secure" in cookie.lower() for cookie in cookies), cookies
    # CSRF's HTTPS Referer check passes for the public origin and fails for another.
    token = next(c for c in cookies if c.startswith("csrftoken=")).split(";")[0].split("=")[1]
    good = {**FORWARDED, "Cookie": f"csrftoken={token}", "X-CSRFToken": token,
            "Referer": "https://public.example/", "Accept": "application/json"}
    assert request(port, "POST", "/form", headers=good)[0] == 200
    bad = {**good, "Referer": "https://evil.example/"}
    status, _, body = request(port, "POST", "/form", headers=bad)
    assert status == 403 and b"Referer" in body
    # A forwarded host the app does not answer is refused like any other.
    status, _, _ = request(port, headers={**FORWARDED, "X-Forwarded-Host": "evil.example"})
    assert status == 400


def test_only_the_named_headers_are_trusted(spawn, tmp_path):
    port = serve(spawn, tmp_path, DJNG_TRUSTED_PROXY_HEADERS="X-Forwarded-Proto")
    _, _, body = request(port, headers={**FORWARDED, "Host": "127.0.0.1"})
    assert json.loads(body)["secure"] is True
    assert json.loads(body)["host"] == "127.0.0.1"
    assert json.loads(body)["remote"] == "127.0.0.1"


def test_the_headers_are_named_in_code_too_and_checked():
    app = djng.wsgi(lambda request: {"secure": request.is_secure()},
                    trusted_proxy_headers=["X-Forwarded-Proto"])
    response = Client(app).get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.json() == {"secure": True}
    with pytest.raises(ValueError, match="X-Real-IP.*X-Forwarded-For, X-Forwarded-Proto"):
        djng.wsgi(lambda request: "x", trusted_proxy_headers=["X-Real-IP"])
    with pytest.raises(ValueError, match="hops"):
        djng.wsgi(lambda request: "x", trusted_proxy_headers=["X-Forwarded-For:0"])


def test_secure_cookies_on_https_without_a_proxy():
    app = djng.sessions(lambda request: request.session.setdefault("k", "v") and "ok")
    with djng.secrets.use("k" * 50):
        response = Client(app, base_url="https://localhost").get("/")
        assert response.cookies["sessionid"]["secure"] is True
        plain = Client(app, base_url="http://localhost").get("/")
        assert not plain.cookies["sessionid"]["secure"]
