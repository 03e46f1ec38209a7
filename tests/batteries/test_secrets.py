"""djng.secrets: Django's signing follows the key in effect; dev key file; production errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest
from conftest import TIMEOUT, child_env
from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

import djng
from djng.services.stack import _UNSET

secrets_module = sys.modules["djng.services.secrets"]


def test_signing_follows_the_key_in_effect(secret_key):
    signed = signing.dumps({"a": 1})
    assert signing.loads(signed) == {"a": 1}
    with djng.secrets.use("another key " * 5):
        assert signing.dumps({"a": 1}) != signed
        with pytest.raises(signing.BadSignature):
            signing.loads(signed)
    assert signing.loads(signed) == {"a": 1}
    assert str(settings.SECRET_KEY) == secret_key


def test_cookie_signer_and_salted_hmac_follow_it():
    value = signing.get_cookie_signer(salt="s").sign("v")
    mac = salted_hmac("salt", "value").hexdigest()
    with djng.secrets.use("another key " * 5):
        with pytest.raises(signing.BadSignature):
            signing.get_cookie_signer(salt="s").unsign(value)
        assert salted_hmac("salt", "value").hexdigest() != mac
    assert signing.get_cookie_signer(salt="s").unsign(value) == "v"


def test_fallback_keys_verify_old_signatures(secret_key):
    old = signing.dumps("data")
    with djng.secrets.use(djng.secrets.Key("new key " * 6, fallbacks=[secret_key])):
        assert signing.loads(old) == "data"
        assert list(settings.SECRET_KEY_FALLBACKS) == [secret_key]
        assert signing.loads(signing.dumps("x")) == "x"


def test_a_view_can_push_a_key_for_its_request():
    def sign(request):
        if "tenant" in request.GET:
            djng.secrets.push("tenant key " * 5)
        return signing.dumps("x")

    client = djng.testing.Client(sign)
    assert client.get("/").content != client.get("/?tenant=1").content
    assert signing.loads(client.get("/").content.decode()) == "x"


def test_keys_are_checked_and_never_shown():
    key = djng.secrets.Key("s3cr3t-value-" * 4, fallbacks=["older-value"])
    assert "s3cr3t" not in repr(key) and "older" not in repr(key)
    for bad in ["", "   ", None, 42]:
        with pytest.raises(TypeError, match="djng.secrets expects"):
            djng.secrets.configure(bad)
    with pytest.raises(TypeError, match="fallback"):
        djng.secrets.Key("fine", fallbacks=[""])


@pytest.fixture
def production(monkeypatch):
    """No key configured or in effect, no environment variable, not in development."""
    monkeypatch.delenv("DJNG_SECRET_KEY", raising=False)
    monkeypatch.setattr(secrets_module, "development", lambda: False)
    saved = djng.secrets._default
    djng.secrets._default = _UNSET
    token = djng.secrets._stack.set(())  # the autouse test key is not in effect
    yield
    djng.secrets._stack.reset(token)
    djng.secrets._default = saved


def test_production_without_a_key_is_a_clear_error(production):
    with pytest.raises(ImproperlyConfigured, match="set the DJNG_SECRET_KEY|Set the DJNG_SECRET"):
        djng.secrets.current()
    with pytest.raises(ImproperlyConfigured, match="djng has no secret key"):
        signing.dumps("x")


def test_error_reports_survive_a_missing_key(production):
    from django.views.debug import get_default_exception_reporter_filter

    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert safe["SECRET_KEY"] == "********************"
    assert safe["DEBUG"] is False


def test_error_reports_never_show_the_key(secret_key):
    from django.views.debug import get_default_exception_reporter_filter

    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert secret_key not in json.dumps(safe, default=str)


def test_the_environment_variable_is_the_default(production, monkeypatch):
    monkeypatch.setenv("DJNG_SECRET_KEY", " from-the-environment-" + "x" * 40 + "\n")
    monkeypatch.setenv("DJNG_SECRET_KEY_FALLBACKS", "old one, older one")
    key = djng.secrets.current()
    assert key.value == "from-the-environment-" + "x" * 40
    assert key.fallbacks == ("old one", "older one")


# -- in separate processes: the development key file and start-up ----------------------------


def run(tmp_path, code: str, *, as_module: bool = False, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` as ``app.py``: the script Python runs, or (``as_module``) imported by
    name, as gunicorn imports ``app:application``."""
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(code))
    environ = child_env()
    environ.pop("DJNG_SECRET_KEY", None)
    environ.pop("DJNG_APP_DIR", None)
    environ.update(env)
    command = [sys.executable, "-c", "import app"] if as_module else [sys.executable, str(script)]
    return subprocess.run(
        command,
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


DEV = """
import djng
djng.debug.configure(True)   # what serve(debug=True) does
print(djng.secrets.current().value)
"""


def test_development_keeps_a_generated_key_next_to_the_app(tmp_path):
    first = run(tmp_path, DEV)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / ".djng-secret-key"
    assert key_file.read_text().strip() == first.stdout.strip()
    assert len(first.stdout.strip()) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = run(tmp_path, DEV)
    assert second.stdout == first.stdout  # sessions survive a restart


PRODUCTION = """
import djng
app = djng.sessions(lambda request: "hi")
application = djng.wsgi(app)
print("served")
"""


def test_production_start_up_fails_without_a_key(tmp_path):
    result = run(tmp_path, PRODUCTION, as_module=True)
    assert result.returncode != 0
    assert "djng has no secret key (needed by sessions)" in result.stderr
    assert "DJNG_SECRET_KEY" in result.stderr
    assert "served" not in result.stdout
    assert not (tmp_path / ".djng-secret-key").exists()  # never a silently random key


def test_importing_the_test_client_is_not_development(tmp_path):
    result = run(tmp_path, "import djng.testing\n" + PRODUCTION, as_module=True)  # tests kept
    assert result.returncode != 0
    assert "djng has no secret key" in result.stderr
    assert not (tmp_path / ".djng-secret-key").exists()


def test_production_starts_with_the_environment_key(tmp_path):
    result = run(tmp_path, PRODUCTION, as_module=True, DJNG_SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "served"
    assert not (tmp_path / ".djng-secret-key").exists()


def test_a_script_run_directly_is_checked_when_its_key_is_first_used(tmp_path):
    """``python app.py``: the module-level ``djng.wsgi(app)`` comes before the
    ``djng.serve()`` that makes it development, so the key is not checked there."""
    code = PRODUCTION + """
import djng.testing
djng.test_client.in_use = False  # (the client below is not what makes this development)
try:
    djng.secrets.current()
except Exception as exc:
    print("first use:", exc)
djng.secrets.development_server()  # what djng.serve() does before it serves
print("development key:", len(djng.secrets.current().value))
"""
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert "served" in result.stdout
    assert "first use: djng has no secret key (needed by sessions)" in result.stdout
    assert "development key: " in result.stdout
    assert (tmp_path / ".djng-secret-key").exists()


def test_an_app_that_signs_nothing_needs_no_key(tmp_path):
    result = run(tmp_path, "import djng\ndjng.wsgi(lambda r: 'hi')\nprint('served')\n")
    assert result.returncode == 0, result.stderr


def test_the_test_client_generates_a_key(tmp_path):
    code = """
    import djng, djng.testing
    app = djng.sessions(lambda request: request.session.setdefault("n", "1"))
    client = djng.testing.Client(app)
    print(client.get("/").status_code)
    """
    result = run(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"
    assert os.path.exists(tmp_path / ".djng-secret-key")
