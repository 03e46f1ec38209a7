"""Forms and model forms with the template service in effect; lazy TemplateResponse."""

from __future__ import annotations

import djng
from djng import models
from djng.testing import Client


class Contact(djng.Model):
    email = models.EmailField()
    age = models.PositiveIntegerField()


class ContactForm(djng.forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["email", "age"]


class SearchForm(djng.forms.Form):
    q = djng.forms.CharField(max_length=10)


PAGES = {
    "form.html": "<form method=post>{% csrf_token %}{{ form }}</form>",
    "hello.html": "Hello {{ name }}",
    "other.html": "Other {{ name }}",
}


def contact(request):
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return djng.redirect("/done")
    return djng.TemplateResponse(request, "form.html", {"form": form})


def test_a_form_renders_with_djangos_form_templates():
    engine = djng.templates.Django(strings=PAGES)
    with djng.templates.use(engine):
        html = str(SearchForm())
    assert 'name="q"' in html and 'maxlength="10"' in html
    assert "<div>" in html  # Django's div.html form template


def test_form_rendering_follows_the_engine_in_effect_per_request():
    plain = djng.templates.Django(strings=PAGES)
    fancy = djng.templates.Django(
        strings={**PAGES, "django/forms/div.html": "FANCY {{ fields|length }}"}
    )

    def view(request):
        if "fancy" in request.GET:
            djng.templates.push(fancy)
        return djng.TemplateResponse(request, "form.html", {"form": SearchForm()})

    client = Client(djng.reconfigure(view, templates=plain))
    assert b'name="q"' in client.get("/").content
    assert b"FANCY 1" in client.get("/?fancy=1").content
    assert b'name="q"' in client.get("/").content  # the push lasted one request


def test_a_model_form_saves_valid_data(database):
    client = Client(djng.reconfigure(contact, templates=djng.templates.Django(strings=PAGES)))
    response = client.post("/", data={"email": "ada@example.com", "age": "36"})
    assert (response.status_code, response["Location"]) == (302, "/done")
    assert Contact.objects.get().email == "ada@example.com"


def test_invalid_data_re_renders_with_errors_and_writes_nothing(database):
    client = Client(djng.reconfigure(contact, templates=djng.templates.Django(strings=PAGES)))
    response = client.post("/", data={"email": "not an email", "age": "-3"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Ensure this value is greater than or equal to 0." in html
    assert 'value="not an email"' in html  # what was typed is kept
    assert Contact.objects.count() == 0


def test_template_response_is_lazy_for_outer_layers():
    def view(request):
        return djng.TemplateResponse(request, "hello.html", {"name": "view"})

    def outer(app):
        def wrapper(request):
            response = app(request)
            if "other" in request.GET:
                response.template_name = "other.html"
            response.context_data["name"] = "outer"
            return response

        return wrapper

    app = djng.reconfigure(outer(view), templates=djng.templates.Django(strings=PAGES))
    client = Client(app)
    assert client.get("/").content == b"Hello outer"
    assert client.get("/?other=1").content == b"Other outer"


def test_template_response_renders_with_the_services_of_its_request():
    engine = djng.templates.Django(strings={"hello.html": "pushed {{ name }}"})

    def view(request):
        djng.templates.push(engine)  # in effect until the request ends, rendering included
        return djng.TemplateResponse(request, "hello.html", {"name": "x"})

    app = djng.reconfigure(view, templates=djng.templates.Django(strings=PAGES))
    assert Client(app).get("/").content == b"pushed x"


def test_templates_from_a_folder_and_from_strings(tmp_path):
    (tmp_path / "hello.html").write_text("From a file {{ name }}")
    engine = djng.templates.Django(dirs=[tmp_path], strings={"hello.html": "x", "s.html": "S"})

    def view(request):
        name = request.GET.get("t", "hello.html")
        return djng.TemplateResponse(request, name, {"name": "y"})

    client = Client(djng.reconfigure(view, templates=engine))
    assert client.get("/").content == b"From a file y"  # folders first
    assert client.get("/?t=s.html").content == b"S"
