"""What both services' JSON views share: reading a JSON object, answering a problem."""

import json

from django.core.exceptions import BadRequest

import djng


def body_of(request):
    """The request's JSON object; a 400 for anything else."""
    try:
        given = json.loads(request.body or b"null")
    except ValueError:
        raise BadRequest("The body is not JSON") from None
    if not isinstance(given, dict):
        raise BadRequest("Send a JSON object")
    return given


def problem(status, detail):
    """An RFC 9457 problem answer (``djng.clients`` reads its ``detail``)."""
    return djng.JsonResponse({"title": "Cannot do that", "status": status, "detail": detail},
                             status=status, content_type="application/problem+json")
