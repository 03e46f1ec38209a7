"""Backends from URLs, twelve-factor style: configure('scheme://...') and DJNG_*_URL.

No server is contacted here: building a backend from a URL never connects.
"""

from __future__ import annotations

import json

import pytest

import djng

from .conftest import run_python_env

PASSWORD = "hunter2-s3cret"


# -- configure() with URLs --------------------------------------------------------------


def test_cache_redis_url_builds_the_redis_backend():
    djng.cache.configure(f"redis://:{PASSWORD}@cache.internal:6380/2?key_prefix=shop&timeout=30")
    backend = djng.cache.default()
    assert isinstance(backend, djng.cache.Redis)
    assert backend.url == f"redis://:{PASSWORD}@cache.internal:6380/2"
    assert backend.key_prefix == "shop"
    assert backend.default_timeout == 30
    assert PASSWORD not in repr(backend)


def test_cache_redis_url_keeps_redis_options_in_the_url():
    djng.cache.configure("redis://cache.internal:6379?db=3")
    backend = djng.cache.default()
    assert isinstance(backend, djng.cache.Redis)
    assert backend.url == "redis://cache.internal:6379?db=3"
    assert backend.key_prefix == ""


@pytest.mark.parametrize(
    ("url", "kind"),
    [("locmem://", djng.cache.LocMem), ("dummy://", djng.cache.Dummy)],
)
def test_other_cache_urls(url, kind):
    djng.cache.configure(url)
    assert type(djng.cache.default()) is kind


def test_database_postgres_url_builds_the_database():
    djng.db.configure(f"postgres://ada:{PASSWORD}@db.internal:6543/shop?sslmode=require")
    database = djng.db.default()
    assert isinstance(database, djng.db.Database)
    settings = database.settings
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["NAME"] == "shop"
    assert settings["HOST"] == "db.internal"
    assert settings["PORT"] == "6543"
    assert settings["USER"] == "ada"
    assert settings["PASSWORD"] == PASSWORD
    assert settings["OPTIONS"] == {"sslmode": "require", "connect_timeout": 5}
    assert PASSWORD not in repr(database)
    # Django's 'default' alias mirrors the process default.
    from django.db import connections

    assert connections.settings["default"]["NAME"] == "shop"
    assert connections.settings["default"]["HOST"] == "db.internal"


def test_database_url_quoted_parts_are_unquoted():
    database = djng.db.Database("postgresql://us%40er:p%40ss%2Fw@db.internal/my%20db")
    assert database.settings["USER"] == "us@er"
    assert database.settings["PASSWORD"] == "p@ss/w"
    assert database.settings["NAME"] == "my db"
    assert database.settings["PORT"] == ""


def test_mail_smtp_url_builds_the_smtp_backend():
    djng.mail.configure(f"smtp://mailer%40example.com:{PASSWORD}@smtp.example.com:587?tls=1")
    backend = djng.mail.default()
    assert isinstance(backend, djng.mail.SMTP)
    assert backend.host == "smtp.example.com"
    assert backend.port == 587
    assert backend.use_tls is True
    assert backend.use_ssl is False
    assert backend.username == "mailer@example.com"
    assert backend.password == PASSWORD
    assert backend.timeout == 10
    assert PASSWORD not in repr(backend)


def test_mail_smtps_url_is_implicit_tls_on_465():
    backend = djng.mail.coerce("smtps://u:p@smtp.example.com?timeout=3")
    assert (backend.host, backend.port, backend.use_ssl, backend.use_tls) == (
        "smtp.example.com", 465, True, False,
    )
    assert backend.timeout == 3


def test_mail_smtp_url_defaults_to_port_25_without_login():
    backend = djng.mail.coerce("smtp://relay.internal")
    assert (backend.port, backend.username, backend.password, backend.use_tls) == (
        25, None, None, False,
    )


# -- bad URLs fail at configure time, naming the wrong part, never the password -----------

BAD_URLS = [
    # (service, url, words the message must contain)
    ("cache", f"memcached://u:{PASSWORD}@cache.internal:11211", ["scheme", "memcached://"]),
    ("cache", f"redis://u:{PASSWORD}@cache.internal:63x79/0", ["port", "63x79"]),
    ("cache", f"redis://u:{PASSWORD}@:6379/0", ["host"]),
    ("cache", f"redis://u:{PASSWORD}@cache.internal/0?timeout=soon", ["timeout"]),
    ("cache", "locmem://?max=1", ["Unknown option", "max"]),
    ("db", f"mongodb://u:{PASSWORD}@db.internal/shop", ["scheme", "mongodb://"]),
    ("db", f"postgres://u:{PASSWORD}@db.internal:99999/shop", ["port", "99999"]),
    ("db", f"postgres://u:{PASSWORD}@db.internal:5432/", ["names no database"]),
    ("db", f"postgres://u:{PASSWORD}@:5432/shop", ["names no host"]),
    ("db", "postgres//db.internal/shop", ["no scheme"]),
    ("mail", f"imap://u:{PASSWORD}@mail.internal", ["scheme", "imap://"]),
    ("mail", f"smtp://u:{PASSWORD}@mail.internal:smtp", ["port", "smtp"]),
    (
        "mail",
        f"smtp://u:{PASSWORD}@mail.internal:587?tls=1&starttls=1",
        ["Unknown option", "starttls"],
    ),
    ("mail", f"smtp://u:{PASSWORD}@mail.internal:587?tls=maybe", ["tls", "1 or 0"]),
    ("mail", f"smtp://u:{PASSWORD}@:587", ["names no SMTP host"]),
    ("mail", f"smtps://u:{PASSWORD}@mail.internal?tls=1", ["STARTTLS", "pick one"]),
    # Malformed in every way, and still never showing the password:
    ("db", f"postgres:/u:{PASSWORD}@db.internal/shop", ["no scheme"]),
    ("db", f"postgres:u:{PASSWORD}@db.internal/shop", ["no scheme"]),
    ("db", f"u:{PASSWORD}@db.internal/shop", ["no scheme"]),
    ("cache", f"redis:/:{PASSWORD}@cache.internal/0", ["no scheme"]),
    ("mail", f"smtp:/u:{PASSWORD}@mail.internal", ["no scheme"]),
    ("db", f"postgres://u@db.internal/shop?password={PASSWORD}&bogus=1", ["bogus"]),
    ("cache", f"redis://cache.internal/0?password={PASSWORD}&bogus=1", ["bogus"]),
    ("mail", f"smtp://mail.internal?secret={PASSWORD}", ["Unknown option", "secret"]),
]


@pytest.mark.parametrize(("service", "url", "words"), BAD_URLS)
def test_bad_url_fails_at_configure_naming_the_part(service, url, words):
    svc = getattr(djng, service)
    with pytest.raises(ValueError) as info:
        svc.configure(url)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert PASSWORD not in message


def test_an_unknown_redis_option_lists_the_documented_ones_and_the_closest():
    with pytest.raises(ValueError) as info:
        djng.cache.configure("redis://127.0.0.1:6379/0?bogus=1")
    message = str(info.value)
    assert "Unknown option(s) bogus" in message
    assert "known: timeout, key_prefix, db, socket_timeout" in message
    assert "parser_class" not in message and "command_packer" not in message
    assert len(message) < 400, message
    with pytest.raises(ValueError, match=r"socket_timout .*\(did you mean socket_timeout\?\)"):
        djng.cache.configure("redis://127.0.0.1:6379/0?socket_timout=1")


def test_a_bad_environment_url_never_shows_the_password_at_start():
    result = run_python_env(
        "import djng\ndjng.wsgi(lambda request: 'x')\n",
        DJNG_DATABASE_URL=f"postgres:/u:{PASSWORD}@db.internal/shop",
    )
    assert result.returncode != 0
    assert "DJNG_DATABASE_URL" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_unknown_redis_url_option_fails_at_configure():
    with pytest.raises(ValueError, match="bogus"):
        djng.cache.configure(f"redis://u:{PASSWORD}@cache.internal:6379/0?bogus=1")


def test_unknown_postgres_url_option_fails_at_configure():
    with pytest.raises(ValueError, match="bogus"):
        djng.db.configure(f"postgres://u:{PASSWORD}@db.internal:5432/shop?bogus=1")


# -- environment variables become the process defaults ----------------------------------

PRINT_DEFAULTS = """
import json, djng
cache, db, mail = djng.cache.default(), djng.db.default(), djng.mail.default()
print(json.dumps({
    "cache": [type(cache).__name__, getattr(cache, "url", None), cache.key_prefix],
    "db": {k: db.settings.get(k) for k in ("ENGINE", "NAME", "HOST", "PORT", "USER")},
    "mail": [type(mail).__name__, getattr(mail, "host", None), getattr(mail, "port", None),
             getattr(mail, "use_tls", None), getattr(mail, "username", None),
             getattr(mail, "password", None)],
}))
"""


def _defaults(**variables: str) -> dict:
    result = run_python_env(PRINT_DEFAULTS, DJNG_APP_DIR="/nonexistent-djng-app", **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_environment_urls_become_the_defaults():
    defaults = _defaults(
        DJNG_CACHE_URL="redis://cache.internal:6379/1?key_prefix=env",
        DJNG_DATABASE_URL="postgres://ada@db.internal:5433/envdb",
        DJNG_EMAIL_URL=f"smtp://ada:{PASSWORD}@smtp.internal:2525?tls=1",
    )
    assert defaults["cache"] == ["Redis", "redis://cache.internal:6379/1", "env"]
    assert defaults["db"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "envdb",
        "HOST": "db.internal",
        "PORT": "5433",
        "USER": "ada",
    }
    assert defaults["mail"] == ["SMTP", "smtp.internal", 2525, True, "ada", PASSWORD]


def test_plain_database_url_is_used_too():
    defaults = _defaults(DATABASE_URL="postgres://bob@legacy.internal/legacydb")
    assert defaults["db"]["NAME"] == "legacydb"
    assert defaults["db"]["HOST"] == "legacy.internal"


def test_djng_database_url_wins_over_database_url():
    defaults = _defaults(
        DATABASE_URL="postgres://bob@legacy.internal/legacydb",
        DJNG_DATABASE_URL="postgres://ada@db.internal/djngdb",
    )
    assert defaults["db"]["NAME"] == "djngdb"
    assert defaults["db"]["HOST"] == "db.internal"


def test_without_environment_the_embedded_defaults_are_used():
    defaults = _defaults()
    assert defaults["cache"][0] == "LocMem"
    assert defaults["mail"][0] == "Memory"
    assert defaults["db"]["ENGINE"] == "django.db.backends.sqlite3"


START_APP = """
import djng
djng.wsgi(lambda request: "ok")
print("started")
"""


@pytest.mark.parametrize(
    ("variable", "url", "words"),
    [
        ("DJNG_CACHE_URL", f"memcached://:{PASSWORD}@cache.internal:11211", ["scheme"]),
        ("DJNG_DATABASE_URL", f"postgres://u:{PASSWORD}@db.internal:5432", ["no database"]),
        ("DATABASE_URL", f"postgres://u:{PASSWORD}@db.internal:port/shop", ["port"]),
        ("DJNG_EMAIL_URL", f"smtp://u:{PASSWORD}@smtp.internal:587?tls=1&auth=1", ["auth"]),
    ],
)
def test_bad_environment_url_fails_at_wsgi_start_up(variable, url, words):
    result = run_python_env(START_APP, **{variable: url})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ValueError" in result.stderr
    assert variable in result.stderr
    for word in words:
        assert word in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_good_environment_urls_start_without_contacting_servers():
    # Nothing listens at these addresses: start-up only builds the backends.
    result = run_python_env(
        START_APP,
        DJNG_CACHE_URL="redis://127.0.0.1:9/0",
        DJNG_DATABASE_URL="postgres://u@127.0.0.1:9/shop",
        DJNG_EMAIL_URL="smtp://127.0.0.1:9",
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("separator", ["/", "?", "#"])
@pytest.mark.parametrize(
    ("service", "template"),
    [
        ("db", "postgres://ada:{pw}@db.internal:5432/shop"),
        ("cache", "redis://:{pw}@cache.internal:6379/0"),
        ("mail", "smtp://ada:{pw}@smtp.internal:587?tls=1"),
    ],
)
def test_unencoded_special_characters_in_password_are_never_echoed(service, template, separator):
    # A password with / ? or # that was not percent-encoded splits the URL in the
    # wrong place; whatever the message says, no part of the password is in it.
    url = template.format(pw=f"hunter2{separator}s3cret")
    with pytest.raises(ValueError) as info:
        getattr(djng, service).configure(url)
    message = str(info.value)
    assert "hunter2" not in message
    assert "s3cret" not in message
