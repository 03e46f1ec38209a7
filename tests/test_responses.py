"""Response classes, view return coercion, negotiated errors and exceptions -> responses."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import HttpResponse

import djng
from djng.testing import Client

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def returning(value):
    def view(request):
        return value

    return view


def get(value, **kwargs):
    return Client(returning(value)).get("/", **kwargs)


# -- coercion --------------------------------------------------------------------


@pytest.mark.parametrize("body", ["héllo", "héllo".encode()])
def test_str_and_bytes_become_a_text_response(body):
    response = get(body)
    assert isinstance(response, HttpResponse)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/")
    assert response.content == "héllo".encode()


@pytest.mark.parametrize("body", [{"a": [1, "b"]}, [1, {"b": None}], []])
def test_dict_and_list_become_json(body):
    response = get(body)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


def test_body_status_tuple():
    response = get(("made", 201))
    assert (response.status_code, response.reason_phrase, response.content) == (
        201,
        "Created",
        b"made",
    )


def test_json_body_with_status():
    response = get(({"error": "nope"}, 422))
    assert response.status_code == 422
    assert response.reason_phrase == "Unprocessable Content" or response.reason_phrase.startswith(
        "Unprocessable"
    )
    assert response.json() == {"error": "nope"}


@pytest.mark.parametrize(
    "headers",
    [{"X-One": "1", "X-Two": "2"}, [("X-One", "1"), ("X-Two", "2")]],
    ids=["dict", "list"],
)
def test_body_status_headers_tuple(headers):
    response = get(("teapot", 418, headers))
    assert response.status_code == 418
    assert response.content == b"teapot"
    assert (response["X-One"], response["X-Two"]) == ("1", "2")


def test_django_response_is_returned_as_is():
    original = HttpResponse("as is", status=203, content_type="text/csv")
    original["X-Mine"] = "yes"
    response = get(original)
    assert response.app_response is original  # the client saw it as it was sent
    assert (response.status_code, response["Content-Type"], response["X-Mine"]) == (
        203,
        "text/csv",
        "yes",
    )


def test_response_classes_are_djangos():
    response = Client(lambda request: djng.JsonResponse({"k": 1})).get("/")
    assert response.json() == {"k": 1}
    response = Client(lambda request: djng.StreamingResponse(iter([b"a", b"b"]))).get("/")
    assert response.streaming
    assert b"".join(response.streaming_content) == b"ab"
    response = Client(lambda request: djng.redirect("/elsewhere")).get("/")
    assert (response.status_code, response["Location"]) == (302, "/elsewhere")


def none_view(request):
    request.touched = True  # forgot to return


def test_none_raises_type_error_naming_the_view():
    with pytest.raises(TypeError) as info:
        Client(none_view).get("/")
    message = str(info.value)
    assert "none_view" in message
    assert "None" in message
    for returnable in ("str", "bytes", "dict", "list", "(body, status)"):
        assert returnable in message


def test_none_from_a_routed_view_names_that_view_not_the_router():
    app = djng.Router((r"^x$", none_view))
    with pytest.raises(TypeError, match=r"none_view returned None"):
        Client(app).get("/x")


@pytest.mark.parametrize("value", [{1, 2}, 42, object(), ("a", "b"), ("a", 200, {}, "extra")])
def test_other_values_raise_type_error(value):
    with pytest.raises(TypeError) as info:
        get(value)
    assert "view" in str(info.value)
    assert "returned" in str(info.value)


@pytest.mark.parametrize(
    ("value", "described"), [(42, "returned an int (42)"), ({1}, "returned a set ({1})")]
)
def test_the_description_of_a_bad_value_has_the_right_article(value, described):
    with pytest.raises(TypeError, match=re.escape(described)):
        get(value)


def test_bad_return_is_a_500_when_not_raised():
    response = Client(none_view, raise_exceptions=False).get("/")
    assert response.status_code == 500


# -- negotiated error responses ---------------------------------------------------


def missing(request):
    raise djng.Http404("There is no such thing")


def test_json_clients_get_problem_details():
    response = Client(missing).get("/", headers=JSON)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"
    assert problem["detail"] == "There is no such thing"


def test_browsers_get_html():
    response = Client(missing).get("/", headers=HTML)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"<h1>Not Found</h1>" in response.content
    assert b"There is no such thing" in response.content


def test_html_error_detail_is_escaped():
    def view(request):
        raise djng.Http404("<script>x</script>")

    response = Client(view).get("/", headers=HTML)
    assert b"<script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_other_clients_get_text():
    response = Client(missing).get("/", headers={"Accept": "image/png"})
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith("404 Not Found")


# -- exceptions ------------------------------------------------------------------


def raiser(exc):
    def view(request):
        raise exc

    return view


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (djng.Http404("gone"), 404),
        (PermissionDenied("no"), 403),
        (BadRequest("bad"), 400),
        (SuspiciousOperation("sus"), 400),
        (RequestDataTooBig("big"), 413),
        (RuntimeError("boom"), 500),
    ],
)
def test_exceptions_become_statuses(exc, status):
    response = Client(raiser(exc), raise_exceptions=False).get("/", headers=JSON)
    assert response.status_code == status
    assert json.loads(response.content)["status"] == status


def test_client_errors_are_not_reraised_by_the_test_client():
    assert Client(raiser(PermissionDenied())).get("/").status_code == 403


def test_suspicious_operation_does_not_leak_its_message():
    response = Client(raiser(SuspiciousOperation("secret-internals"))).get("/", headers=JSON)
    assert response.status_code == 400
    assert b"secret-internals" not in response.content


def test_body_over_the_upload_limit_is_413():
    def view(request):
        return request.body

    big = b"x" * (2 * 1024 * 1024 + 3 * 1024 * 1024 // 2)  # above Django's 2.5 MB default
    response = Client(view).post("/", data=big, content_type="application/octet-stream")
    assert response.status_code == 413


def test_unhandled_exception_is_a_generic_500_and_logged(caplog):
    caplog.set_level(logging.ERROR, logger="djng.request")
    response = Client(raiser(ValueError("kaboom-detail")), raise_exceptions=False).get(
        "/crash", headers=HTML
    )
    assert response.status_code == 500
    assert b"Internal Server Error" in response.content
    assert b"kaboom-detail" not in response.content
    records = [r for r in caplog.records if r.name == "djng.request"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert "/crash" in record.getMessage()
    assert record.exc_info[0] is ValueError
    assert "kaboom-detail" in caplog.text and "Traceback" in caplog.text


def test_unhandled_exception_problem_json():
    response = Client(raiser(ValueError("kaboom")), raise_exceptions=False).get("/", headers=JSON)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert (problem["status"], problem["title"]) == (500, "Internal Server Error")
    assert "kaboom" not in response.content.decode()


def test_debug_shows_djangos_technical_500_page(debug_on):
    response = Client(raiser(ValueError("kaboom-debug")), raise_exceptions=False).get(
        "/", headers=HTML
    )
    assert response.status_code == 500
    text = response.content.decode()
    assert "kaboom-debug" in text
    assert "Traceback" in text
    assert "ValueError" in text


def test_debug_use_scope_reaches_the_app():
    with djng.debug.use(True):
        on = Client(raiser(ValueError("scoped")), raise_exceptions=False).get("/", headers=HTML)
    off = Client(raiser(ValueError("scoped")), raise_exceptions=False).get("/", headers=HTML)
    assert b"scoped" in on.content
    assert b"scoped" not in off.content


def test_exception_reaches_wsgi_server_as_500_not_dropped():
    from werkzeug.test import Client as WerkzeugClient

    handler = djng.wsgi(raiser(KeyError("k")))
    response = WerkzeugClient(handler).get("/", headers=JSON)
    assert response.status_code == 500
    assert response.json["status"] == 500
