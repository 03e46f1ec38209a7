"""djng.reconfigure(): services for one app or subtree, for the whole of its request."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache as django_cache
from django.core.mail import send_mail
from django.template.loader import render_to_string

import djng

inner_cache = djng.cache.LocMem("inner")
outer_cache = djng.cache.LocMem("outer")


@pytest.fixture(autouse=True)
def outer_default():
    djng.cache.configure(outer_cache)
    yield
    djng.cache.reset()


def which_cache(request):
    return djng.cache.current().name


def test_wraps_an_app_for_its_request_only():
    site = djng.Router(
        djng.path("in", djng.reconfigure(which_cache, cache=inner_cache)),
        djng.path("out", which_cache),
    )
    client = djng.testing.Client(site)
    assert client.get("/in").text == "inner"
    assert client.get("/out").text == "outer"
    assert djng.cache.current() is outer_cache


def test_decorator_form_and_several_services():
    outbox = djng.mail.Memory()

    @djng.reconfigure(cache=inner_cache, mail=outbox)
    def view(request):
        django_cache.set("k", "v")
        send_mail("s", "b", "a@example.com", ["b@example.com"])
        return djng.cache.current().name

    assert djng.testing.Client(view).get("/").text == "inner"
    assert inner_cache.get("k") == "v" and outer_cache.get("k") is None
    assert len(outbox.outbox) == 1
    assert view.__name__ == "view"


def test_covers_the_iteration_of_a_streaming_body():
    def stream(request):
        return djng.StreamingResponse(djng.cache.current().name + "|" for _ in range(3))

    handler = djng.wsgi(djng.reconfigure(stream, cache=inner_cache))
    from werkzeug.test import EnvironBuilder

    body = handler(EnvironBuilder(path="/").get_environ(), lambda *a: None)
    try:
        assert b"".join(body) == b"inner|inner|inner|"
    finally:
        body.close()


def test_covers_lazy_template_rendering_after_outer_layers_changed_it():
    plain = djng.templates.Django(strings={"page.html": "plain {{ who }}"})
    fancy = djng.templates.Django(strings={"page.html": "fancy {{ who }}", "alt.html": "alt"})

    def page(request):
        return djng.TemplateResponse(request, "page.html", {"who": "inner"})

    def outer(app):
        def view(request):
            response = app(request)
            assert not response.is_rendered  # still lazy out here
            response.context_data["who"] = "changed by outer"
            return response

        return view

    with djng.templates.use(plain):
        client = djng.testing.Client(outer(djng.reconfigure(page, templates=fancy)))
        assert client.get("/").text == "fancy changed by outer"
        assert render_to_string("page.html", {"who": "x"}) == "plain x"


def test_errors_and_debug_apply_to_the_subtree_that_raised(caplog):
    team = djng.mail.Memory()

    def broken(request):
        raise RuntimeError("in the area")

    area = djng.reconfigure(
        broken, errors=djng.errors.Mail(to=["team@example.com"]), mail=team, debug=True
    )
    site = djng.Router(djng.path("area", area), djng.path("elsewhere", broken))
    client = djng.testing.Client(site, raise_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="djng.request"):
        in_area = client.get("/area", headers={"Accept": "text/html"})
        elsewhere = client.get("/elsewhere", headers={"Accept": "text/html"})
    assert in_area.status_code == elsewhere.status_code == 500
    assert "RuntimeError" in in_area.text and "Traceback" in in_area.text  # debug page
    assert "RuntimeError" not in elsewhere.text
    assert [m.to for m in team.outbox] == [["team@example.com"]]
    assert [r.getMessage() for r in caplog.records if r.name == "djng.request"] == [
        "Internal Server Error: /elsewhere"
    ]


def test_an_exception_in_a_reconfigured_app_is_still_raised_by_the_test_client():
    def broken(request):
        raise KeyError("x")

    client = djng.testing.Client(djng.reconfigure(broken, cache=inner_cache))
    with pytest.raises(KeyError):
        client.get("/")


def test_client_errors_stay_exceptions_for_outer_error_pages():
    def missing(request):
        raise djng.Http404("no such thing")

    site = djng.errors(
        djng.reconfigure(missing, cache=inner_cache), not_found=lambda request: ("custom", 404)
    )
    response = djng.testing.Client(site).get("/")
    assert (response.status_code, response.text) == (404, "custom")


def test_bad_definitions_fail_at_once_with_a_clear_message():
    with pytest.raises(TypeError, match="unknown service.*cahce.*the services are: cache"):
        djng.reconfigure(which_cache, cahce=inner_cache)
    with pytest.raises(TypeError, match="djng.cache expects a Django cache backend"):
        djng.reconfigure(which_cache, cache=42)
    with pytest.raises(TypeError, match="djng.debug expects True or False"):
        djng.reconfigure(which_cache, debug="yes")
    with pytest.raises(TypeError, match="at least one service"):
        djng.reconfigure(which_cache)
    with pytest.raises(TypeError, match="needs a view"):
        djng.reconfigure(cache=inner_cache)(42)
