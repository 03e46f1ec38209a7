"""djng.templates: engines as plain objects, and Django's template helpers following the stack."""

from __future__ import annotations

import threading

import pytest
from django import forms, template
from django.template import Template, TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.template.response import TemplateResponse
from django.test import RequestFactory

import djng
from djng.services.stack import _UNSET
from djng.testing import Client

#: Seconds a thread waits for another before giving up: a guard against hanging, not a
#: timing assertion.
WAIT = 30

#: This module is also a template library (for ``builtins=``) ...
register = template.Library()


@register.filter
def shout(value):
    return f"{value}".upper() + "!"


#: ... and holds a context processor (for ``context_processors=``).
def site_processor(request):
    return {"site": f"site-of-{request.path}"}


def engine_with(tmp_path, files: dict[str, str] | None = None, **kwargs) -> djng.templates.Django:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, source in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source)
    return djng.templates.Django(dirs=[folder], **kwargs)


class NameForm(forms.Form):
    name = forms.CharField()


# -- engines without any stack ------------------------------------------------------------


def test_django_engine_renders_from_dirs_and_strings_and_dirs_win(tmp_path):
    engine = engine_with(
        tmp_path,
        {"page.html": "from dir: {{ x }}"},
        strings={"page.html": "from strings", "only.html": "only in strings: {{ x }}"},
    )
    assert engine.render("page.html", {"x": 1}) == "from dir: 1"
    assert engine.render("only.html", {"x": 2}) == "only in strings: 2"
    assert engine.from_string("{{ x|default:'none' }}").render({}) == "none"
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("missing.html")


def test_django_engine_is_built_only_when_a_template_is_first_needed(tmp_path):
    engine = djng.templates.Django(dirs=[tmp_path / "not-yet"], strings={"a.html": "a"})
    assert "backend" not in engine.__dict__
    djng.templates.configure(engine)
    with djng.templates.use(engine):
        assert "backend" not in engine.__dict__
    assert engine.render("a.html") == "a"
    assert "backend" in engine.__dict__


def test_django_engine_dirs_must_be_a_list(tmp_path):
    with pytest.raises(TypeError, match="list of folders"):
        djng.templates.Django(dirs=str(tmp_path))
    with pytest.raises(TypeError, match="list of folders"):
        djng.templates.Jinja2(dirs=tmp_path)


def test_django_engine_autoescapes_by_default_and_can_be_told_not_to():
    source = {"t.html": "{{ x }}"}
    assert djng.templates.Django(strings=source).render("t.html", {"x": "<b>"}) == "&lt;b&gt;"
    raw = djng.templates.Django(strings=source, autoescape=False)
    assert raw.render("t.html", {"x": "<b>"}) == "<b>"


def test_context_processors_run_when_rendering_with_a_request():
    engine = djng.templates.Django(
        strings={"t.html": "[{{ site }}]"}, context_processors=[f"{__name__}.site_processor"]
    )
    request = RequestFactory().get("/here")
    assert engine.render("t.html", {}, request=request) == "[site-of-/here]"
    assert engine.render("t.html", {}) == "[]"


def test_builtins_are_available_without_load():
    engine = djng.templates.Django(strings={"t.html": "{{ x|shout }}"}, builtins=[__name__])
    assert engine.render("t.html", {"x": "hi"}) == "HI!"
    plain = djng.templates.Django(strings={"t.html": "{{ x|shout }}"})
    with pytest.raises(template.TemplateSyntaxError):
        plain.render("t.html", {"x": "hi"})


def test_libraries_are_available_with_load():
    engine = djng.templates.Django(
        strings={"t.html": "{% load svc %}{{ x|shout }}"}, libraries={"svc": __name__}
    )
    assert engine.render("t.html", {"x": "lib"}) == "LIB!"


def test_jinja2_engine_renders_from_dirs_and_strings(tmp_path):
    (tmp_path / "j.html").write_text("{{ x | upper }} from {{ 'dir' }}")
    engine = djng.templates.Jinja2(dirs=[tmp_path], strings={"s.html": "{{ x }} + {{ y }}"})
    assert engine.render("j.html", {"x": "hi"}) == "HI from dir"
    assert engine.render("s.html", {"x": 1, "y": 2}) == "1 + 2"
    assert engine.env.__class__.__name__ == "Environment"
    with pytest.raises(TemplateDoesNotExist):
        engine.get_template("missing.html")


def test_a_django_template_backend_instance_is_accepted_and_anything_else_is_not():
    from django.template.backends.django import DjangoTemplates

    raw = DjangoTemplates(
        {
            "NAME": "raw",
            "DIRS": [],
            "APP_DIRS": False,
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", {"r.html": "raw"})]},
        }
    )
    with djng.templates.use(raw):
        assert isinstance(djng.templates.current(), djng.templates.Backend)
        assert render_to_string("r.html") == "raw"
    with pytest.raises(TypeError, match=r"djng\.templates expects a template engine"):
        djng.templates.use("templates/")


# -- the service --------------------------------------------------------------------------


def test_the_embedded_default_uses_the_app_folders_templates(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "home.html").write_text("home of the app")
    monkeypatch.setenv("DJNG_APP_DIR", str(tmp_path))
    djng.templates.reset()
    assert djng.templates._default is _UNSET
    assert render_to_string("home.html") == "home of the app"
    assert isinstance(djng.templates._default, djng.templates.Django)


def test_the_embedded_default_without_an_app_folder_still_renders_strings():
    djng.templates.reset()
    assert Template("{{ 1|add:2 }}").render(template.Context()) == "3"
    with pytest.raises(TemplateDoesNotExist):
        render_to_string("home.html")


def test_attribute_access_forwards_to_the_engine_in_effect():
    a = djng.templates.Django(strings={"t.html": "A"})
    b = djng.templates.Django(strings={"t.html": "B"})
    djng.templates.configure(a)
    assert djng.templates.render("t.html") == "A"
    with djng.templates.use(b):
        assert djng.templates.render("t.html") == "B"
        assert djng.templates.engine is b.engine


# -- Django follows the stack ---------------------------------------------------------------


def test_render_to_string_and_get_template_follow_the_stack(tmp_path):
    a = engine_with(tmp_path, {"hello.html": "A: {{ name }}"})
    b = djng.templates.Django(strings={"hello.html": "B: {{ name }}"})
    djng.templates.configure(a)
    assert render_to_string("hello.html", {"name": "x"}) == "A: x"
    with djng.templates.use(b):
        assert render_to_string("hello.html", {"name": "y"}) == "B: y"
        assert get_template("hello.html").render({"name": "z"}) == "B: z"
    assert get_template("hello.html").render({"name": "w"}) == "A: w"


def test_django_template_with_include_follows_the_stack():
    a = djng.templates.Django(strings={"part.html": "part A"})
    b = djng.templates.Django(strings={"part.html": "part B"})
    source = "[{% include 'part.html' %}]"
    djng.templates.configure(a)
    assert Template(source).render(template.Context()) == "[part A]"
    with djng.templates.use(b):
        assert Template(source).render(template.Context()) == "[part B]"
    compiled_outside = Template(source)
    with djng.templates.use(b):
        assert compiled_outside.render(template.Context()) == "[part B]"


def test_template_response_from_a_view_follows_push_and_use():
    a = djng.templates.Django(strings={"page.html": "A {{ n }}"})
    b = djng.templates.Django(strings={"page.html": "B {{ n }}"})
    djng.templates.configure(a)

    def view(request):
        if request.GET.get("push"):
            djng.templates.push(b)
        return TemplateResponse(request, "page.html", {"n": request.GET.get("n")})

    client = Client(view)
    assert client.get("/", {"n": 1}).text == "A 1"
    assert client.get("/", {"n": 2, "push": 1}).text == "B 2"
    assert client.get("/", {"n": 3}).text == "A 3"
    with djng.templates.use(b):
        assert client.get("/", {"n": 4}).text == "B 4"
    assert Client(djng.reconfigure(view, templates=b)).get("/", {"n": 5}).text == "B 5"


def test_template_response_with_context_processors_of_the_engine_in_effect():
    engine = djng.templates.Django(
        strings={"page.html": "{{ site }}"}, context_processors=[f"{__name__}.site_processor"]
    )

    def view(request):
        return TemplateResponse(request, "page.html", {})

    assert Client(djng.reconfigure(view, templates=engine)).get("/x").text == "site-of-/x"


def test_template_response_from_a_view_decorated_with_use():
    a = djng.templates.Django(strings={"page.html": "A"})
    b = djng.templates.Django(strings={"page.html": "B"})
    djng.templates.configure(a)

    @djng.templates.use(b)
    def view(request):
        return TemplateResponse(request, "page.html", {})

    assert Client(view).get("/").text == "B"


def test_jinja2_in_effect_serves_render_to_string():
    engine = djng.templates.Jinja2(strings={"j.html": "{{ items | join(',') }}"})
    with djng.templates.use(engine):
        assert render_to_string("j.html", {"items": ["a", "b"]}) == "a,b"


def test_form_rendering_follows_the_engine_in_effect():
    form = NameForm(initial={"name": "Ada"})
    djng.templates.configure(djng.templates.Django())
    default_html = str(form)
    assert 'name="name"' in default_html and "Ada" in default_html
    custom = djng.templates.Django(
        strings={
            "django/forms/div.html": "CUSTOM FORM {% for f in form %}<{{ f.name }}>{% endfor %}"
        }
    )
    with djng.templates.use(custom):
        assert str(form) == "CUSTOM FORM <name>"
    assert str(form) == default_html


def test_engines_in_effect_are_independent_per_thread():
    a = djng.templates.Django(strings={"t.html": "A"})
    b = djng.templates.Django(strings={"t.html": "B"})
    djng.templates.configure(a)
    barrier = threading.Barrier(2, timeout=WAIT)
    seen = {}

    def render(key, engine):
        with djng.templates.use(engine):
            barrier.wait()
            seen[key] = render_to_string("t.html")
            barrier.wait()

    threads = [threading.Thread(target=render, args=(k, e)) for k, e in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": "A", "b": "B"}


def test_template_without_engine_under_jinja2_says_what_to_do():
    with djng.templates.use(djng.templates.Jinja2(strings={})):
        with pytest.raises(Exception, match="needs a Django template engine"):
            Template("{{ x }}")
