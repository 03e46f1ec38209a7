"""Examples in the 2009 djng's style serve their pages unchanged (``djng.legacy``).

``tests/original_djng/`` holds example files written anew in the style of Simon
Willison's original djng examples (github.com/simonw/djng), making the same calls.
Each is imported under its own name, so its ``if __name__ == '__main__':
djng.serve(...)`` does not serve; one test runs them as ``__main__`` with a
recording ``djng.serve`` to check that call too.
"""

from __future__ import annotations

import gzip as gzip_module
import importlib.util
import inspect
import runpy
from pathlib import Path

import django.template.response
import django.utils.html
import pytest

import djng
from djng import legacy
from djng.testing import Client

ORIGINAL = Path(__file__).resolve().parent / "original_djng"
EXAMPLES = sorted(path.stem for path in ORIGINAL.glob("example_*.py"))


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"original_djng_{name}", ORIGINAL / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the examples in the 2009 style ---------------------------------------------------------


def test_example_hello():
    response = Client(load("example_hello").greet).get("/")
    assert (response.status_code, response.text) == (200, "Greetings from a single djng view")


def test_example_urls_routes_and_custom_404_and_500():
    client = Client(load("example_urls").site, raise_exceptions=False)
    assert client.get("/morning").text == "Good morning"
    assert client.get("/evening").text == "Good evening"
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.text) == (404, "Nothing lives here")
    broken = client.get("/broken")
    assert (broken.status_code, broken.text) == (500, "Something went wrong")


def test_example_middleware_gzips_one_route():
    module = load("example_middleware")
    client = Client(module.site)
    gzip_accepted = {"Accept-Encoding": "gzip"}

    plain = client.get("/plain", headers=gzip_accepted)
    assert "Content-Encoding" not in plain.headers
    assert plain.text == module.LINE * 50

    squeezed = client.get("/squeezed", headers=gzip_accepted)
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert gzip_module.decompress(squeezed.content).decode() == module.LINE.upper() * 50
    unaccepted = client.get("/squeezed")  # gzip not accepted
    assert "Content-Encoding" not in unaccepted.headers
    assert unaccepted.text == module.LINE.upper() * 50


def test_example_rest_view_dispatches_on_the_method():
    client = Client(load("example_rest_view").Thing())
    assert client.get("/").text == "Reading the thing"
    assert client.post("/").text == "Creating a thing"
    assert client.put("/").text == "Sorry, PUT is not handled here"


def test_example_template_renders_from_its_folder():
    response = Client(load("example_template").clock).get("/")
    assert response.status_code == 200
    assert response.text.startswith("<p>Rendered from the templates folder on 20")


def test_example_forms_escapes_what_it_echoes():
    client = Client(load("example_forms").site)
    assert "<h1>Two little forms</h1>" in client.get("/").text
    find = client.get("/find/", query={"term": "<b>djng</b>"})
    assert find.text == "You looked for: &lt;b&gt;djng&lt;/b&gt;"
    assert client.get("/find/").text == "You looked for: (nothing)"
    shout = client.post("/shout/", data={"words": "fish & <chips>"})
    assert shout.text == "FISH &amp; &lt;CHIPS&gt;!"


@pytest.mark.parametrize("name", EXAMPLES)
def test_run_as_main_calls_serve_with_todays_signature(name, monkeypatch):
    calls = []
    real = inspect.signature(djng.serve)
    monkeypatch.setattr(djng, "serve", lambda *a, **kw: calls.append(real.bind(*a, **kw)))
    runpy.run_path(str(ORIGINAL / f"{name}.py"), run_name="__main__")
    [bound] = calls
    assert (bound.arguments["host"], bound.arguments["port"]) == ("0.0.0.0", 8888)
    assert callable(bound.arguments["app"])


# -- each alias ------------------------------------------------------------------------------


def fail(request):
    raise ValueError("boom")


def test_error_wrapper_is_djng_errors():
    app = djng.Router(("^ok$", lambda request: "ok"), ("^fail$", fail))
    wrapped = djng.ErrorWrapper(
        app,
        custom_404=lambda request: "not here",
        custom_500=lambda request, exc: f"failed: {exc}",
    )
    client = Client(wrapped, raise_exceptions=False)
    assert client.get("/ok").text == "ok"
    missing = client.get("/nope")
    assert (missing.status_code, missing.text) == (404, "not here")
    failed = client.get("/fail")
    assert (failed.status_code, failed.text) == (500, "failed: boom")


def test_error_wrapper_takes_one_view_or_none():
    app = djng.Router(("^ok$", lambda request: "ok"))
    assert djng.ErrorWrapper(app) is app  # djng's own error pages already answer
    only_404 = djng.ErrorWrapper(app, custom_404=lambda request: "gone")
    assert Client(only_404).get("/x").text == "gone"


def test_middleware_gzip_is_djng_gzip():
    assert djng.middleware.GZip is djng.gzip
    assert callable(djng.middleware)  # still the function that adapts a middleware class


def test_escape_is_djangos():
    assert djng.escape is django.utils.html.escape
    assert djng.escape("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"


@pytest.mark.parametrize("folders", ["one", Path("one"), ["one", "two"]])
def test_template_configure_sets_the_django_engine(folders):
    djng.template.configure(folders)
    engine = djng.templates.current()
    assert isinstance(engine, djng.templates.Django)
    assert engine.dirs == (["one", "two"] if isinstance(folders, list) else ["one"])


def test_template_namespace():
    assert djng.template is legacy.template
    assert djng.template.TemplateResponse is django.template.response.TemplateResponse
    assert {"ErrorWrapper", "escape", "template"} <= set(djng.__all__)
