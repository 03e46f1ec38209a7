"""Contract tests: an app against its own OpenAPI, and a consumer's calls against a provider's.

``check_contract(app)`` runs schemathesis against the document ``djng.openapi``
serves for the app (in-process through ``djng.wsgi`` or ``djng.asgi``, or a
server at a URL): generated requests for every operation, each answer checked
(no 5xx, a documented status, content type and body schema). ``check_calls``
takes the calls a ``Cluster`` recorded and checks each against the callee's
published document: the operation exists, the status is documented, the bodies
sent and received match their schemas. Both need ``pip install 'djng[contracts]'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ContractBroken", "check_calls", "check_contract"]


class ContractBroken(AssertionError):
    """What an app or a consumer does that its contract does not allow, every case named."""


def check_contract(app: Any, schema_path: str = "/openapi.json", *, adapter: str = "wsgi",
                   max_examples: int = 25, seed: int | None = None) -> int:
    """Run schemathesis against ``app`` (a djng app, or the URL of a running server)
    and its document at ``schema_path``; raise :class:`ContractBroken` naming each
    operation that failed. Returns how many operations were checked."""
    schemathesis = _require("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed

    from . import test_client

    test_client.in_use = True  # a test: the test client's host names are answered

    if isinstance(app, str):
        schema = schemathesis.openapi.from_url(app.rstrip("/") + schema_path)
    elif adapter == "asgi":
        from .asgi import asgi

        schema = schemathesis.openapi.from_asgi(schema_path, asgi(app))
    elif adapter == "wsgi":
        from .wsgi import wsgi

        schema = schemathesis.openapi.from_wsgi(schema_path, wsgi(app))
    else:
        raise ValueError(f"check_contract(adapter=...) is 'wsgi' or 'asgi', got {adapter!r}")
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        checked += 1

        @settings(max_examples=max_examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy())
        def exercise(case: Any) -> None:
            case.call_and_validate()

        if seed is not None:
            exercise = fixed_seed(seed)(exercise)
        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' failures are a group
            failures.append(f"{operation.label}: {exc}")
    if failures:
        raise ContractBroken(f"{len(failures)} of {checked} operations broke the contract:\n\n"
                             + "\n\n".join(failures))
    return checked


def check_calls(calls: Iterable[Any], documents: Mapping[str, Any]) -> int:
    """Check each recorded call (``cluster.calls``) to a service in ``documents``
    (name -> its OpenAPI document: a dict, or the provider's app, whose document
    ``djng.openapi`` makes) against that document; raise
    :class:`ContractBroken` naming every call that breaks it. Returns how many
    calls were checked."""
    jsonschema_rs = _require("jsonschema_rs")
    documents = {name: _document(found) for name, found in documents.items()}
    broken: list[str] = []
    checked = 0
    for call in calls:
        document = documents.get(call.callee)
        if document is None:
            continue
        checked += 1
        who = f"{call.caller or 'the test'} -> {call.callee}: {call.method} {call.path}"
        found = _operation(document, call.method, call.path)
        if found is None:
            broken.append(f"{who}: no such operation in {call.callee}'s contract")
            continue
        operation = found
        response = _response(operation, call.status)
        if response is None:
            broken.append(f"{who}: answered {call.status}, which the contract does not list")
            continue
        for what, body, content_type, spec in (
            ("sent", call.sent, call.sent_type, operation.get("requestBody")),
            ("answered", call.answered, call.answered_type, response),
        ):
            schema = _schema_for(spec, content_type)
            if schema is None or not body:
                continue
            value = _decode(body, content_type)
            errors = [error.message for error in jsonschema_rs.validator_for(
                {**schema, "components": document.get("components", {})}).iter_errors(value)]
            if errors:
                broken.append(f"{who}: the body {what} does not match: " + "; ".join(errors))
    if broken:
        raise ContractBroken(f"{len(broken)} calls broke their contracts:\n" + "\n".join(broken))
    return checked


# -- helpers ------------------------------------------------------------------------------------


def _document(found: Any) -> dict:
    if isinstance(found, Mapping):
        return dict(found)
    from .openapi import document

    return document(found)


def _operation(document: dict, method: str, path: str) -> dict | None:
    path = path.split("?", 1)[0]
    for template, item in document.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return item[method.lower()]
    return None


def _response(operation: dict, status: int) -> dict | None:
    responses = operation.get("responses", {})
    return responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get(
        "default")


def _schema_for(spec: dict | None, content_type: str | None) -> dict | None:
    if not spec or not content_type:
        return None
    content = spec.get("content", {})
    media = content_type.split(";", 1)[0].strip()
    chosen = content.get(media) or content.get("application/json" if "json" in media else "")
    return None if chosen is None else chosen.get("schema")


def _decode(body: bytes, content_type: str) -> Any:
    import msgspec

    if "msgpack" in content_type:
        return msgspec.msgpack.decode(body)
    return msgspec.json.decode(body)


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"Contract tests need schemathesis: pip install 'djng[contracts]' "
                          f"({module} is missing)", name=module) from None
