"""Fixtures for the batteries: a fresh in-memory database, a secret key, the notes example."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
from conftest import EXAMPLES

import djng

SECRET = "test-secret-" + "x" * 40


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Django's password hasher is slow on purpose; tests use a fast one, as Django advises."""
    from django.conf import settings

    djng.registry.install_batteries()
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    saved = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    yield
    settings.PASSWORD_HASHERS = saved
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def secret_key():
    """Every battery test signs with a known key (the process default is left alone)."""
    with djng.secrets.use(SECRET):
        yield SECRET


@pytest.fixture(scope="session")
def notes():
    """examples/notes.py, imported once as the module ``notes`` (so its app label is 'notes')."""
    if "notes" in sys.modules:
        return sys.modules["notes"]
    spec = importlib.util.spec_from_file_location("notes", EXAMPLES / "notes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["notes"] = module
    spec.loader.exec_module(module)
    return module


def csrf_token(response) -> str:
    """The token of the first ``{% csrf_token %}`` in a rendered page."""
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert found, f"no csrf token in {response.content[:500]!r}"
    return found.group(1).decode()
