"""``djng.openapi(app)``: the OpenAPI 3.1 document of an app's routes, from its Routers.

Every route of the app's Routers (through mounts and dict views) is an
operation: its path with the converters' types, its methods, and for a typed
view (``djng.typed``) its query parameters, request body and response schema,
with the 4xx problems it may answer. Schemas come from msgspec's JSON Schema
(pydantic's for pydantic models) as shared components. A route made with
``openapi=False`` is left out; so are routes Django's own resolver serves and
``re_path()`` routes, whose paths OpenAPI cannot express.
``djng.openapi_page()`` is a page that shows the document, with no CDN.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterator
from http.client import responses as REASON_PHRASES
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls.resolvers import RoutePattern

from . import wire
from .layers import router_of
from .responses import view_name

__all__ = ["document", "openapi", "openapi_page"]

#: OpenAPI's schema of a path converter's value (Django's five; others are strings).
CONVERTERS = {
    "IntConverter": {"type": "integer", "minimum": 0},
    "StringConverter": {"type": "string", "pattern": "^[^/]+$"},
    "SlugConverter": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    "UUIDConverter": {"type": "string", "format": "uuid"},
    "PathConverter": {"type": "string"},
}
PROBLEM = {
    "title": "Problem",
    "description": "An error (RFC 9457); `errors` says where the request was wrong.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "string"}, "message": {"type": "string"}},
                "required": ["loc", "message"],
            },
        },
    },
    "required": ["title", "status"],
}
MEDIA = ("application/json", "application/msgpack")
REASONS = {
    400: "The body is not valid JSON or MessagePack",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Nothing here",
    405: "Method not allowed",
    406: "The client accepts neither JSON nor MessagePack",
    409: "In conflict with the current state",
    413: "The body is too large",
    415: "The body is neither JSON nor MessagePack",
    422: "The request does not match what the endpoint takes",
}


def openapi(app: Any, *, title: str = "API", version: str = "0.1.0",
            description: str | None = None, servers: list[dict] | None = None) -> Callable:
    """A view that serves the OpenAPI 3.1 document of ``app`` (made on first request)."""
    if router_of(app) is None and not callable(app):
        raise TypeError(f"djng.openapi() needs an app with a Router inside, got {app!r}")
    made: list[bytes] = []
    lock = threading.Lock()

    def view(request: HttpRequest) -> HttpResponse:
        if not made:
            with lock:
                if not made:
                    made.append(json.dumps(document(
                        app, title=title, version=version, description=description,
                        servers=servers,
                    ), indent=1).encode())
        return HttpResponse(made[0], content_type="application/json")

    view.djng_openapi = False  # the document does not describe itself
    return view


def document(app: Any, *, title: str = "API", version: str = "0.1.0",
             description: str | None = None, servers: list[dict] | None = None) -> dict:
    """The OpenAPI 3.1 document of ``app``'s routes, as a dict."""
    schemas = _Schemas()
    paths: dict[str, dict] = {}
    used: set[str] = set()  # operationIds are unique in a document
    for path, methods, view, parameters in _operations(router_of(app), ""):
        item = paths.setdefault(path, {})
        for method in methods:
            operation = item[method.lower()] = _operation(method, view, parameters, schemas)
            name, number = operation["operationId"], 1
            while operation["operationId"] in used:  # one view at several paths
                number += 1
                operation["operationId"] = f"{name}_{number}"
            used.add(operation["operationId"])
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    doc: dict[str, Any] = {"openapi": "3.1.0", "info": info, "paths": paths,
                           "components": {"schemas": schemas.components()}}
    if servers:
        doc["servers"] = servers
    return doc


# -- walking the Routers ----------------------------------------------------------------------


def _operations(router: Any, prefix: str) -> Iterator[tuple[str, list[str], Any, list[dict]]]:
    """``(path, methods, view, path parameters)`` of every documented route under ``router``."""
    for route in getattr(router, "routes", ()):
        if not getattr(route, "openapi", True):
            continue
        if route.is_mount:
            inner = route.router
            if route.mount_prefix is not None and inner is not None:
                yield from _operations(inner, _join(prefix, route.mount_prefix))
            elif isinstance(route.pattern, RoutePattern) and inner is not None:
                path, parameters = _path(route.pattern)
                for found in _operations(inner, _join(prefix, path)):
                    yield found[0], found[1], found[2], parameters + found[3]
            continue
        if not isinstance(route.pattern, RoutePattern):
            continue  # a regex: OpenAPI has no way to say it
        path, parameters = _path(route.pattern)
        full = "/" + _join(prefix, path).lstrip("/")
        if route.views is not None:
            for method, view in route.views.items():
                if method != "HEAD" or "GET" not in route.views:
                    if getattr(view, "djng_openapi", True):
                        yield full, [method], view, parameters
            continue
        if not getattr(route.view, "djng_openapi", True):
            continue
        yield full, _methods(route), route.view, parameters


def _path(pattern: RoutePattern) -> tuple[str, list[dict]]:
    """The OpenAPI path template of a ``path()`` pattern, and its parameters."""
    import re

    route = str(pattern._route)  # noqa: SLF001 - the route string Django keeps
    parameters = []
    for name, converter in pattern.converters.items():
        schema = CONVERTERS.get(type(converter).__name__, {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", route), parameters


def _join(prefix: str, path: str) -> str:
    return "/".join(part for part in (prefix.strip("/"), path.strip("/")) if part) + (
        "/" if path.endswith("/") else "")


def _methods(route: Any) -> list[str]:
    """The methods to document: those the route names (HEAD with GET is implied), else
    POST for a view that takes a body and GET for another."""
    if route.methods:
        return sorted(m for m in route.methods if m != "HEAD" or "GET" not in route.methods)
    contract = getattr(route.view, "djng_contract", None)
    return ["POST" if contract is not None and contract.body is not None else "GET"]


# -- one operation ----------------------------------------------------------------------------


def _operation(method: str, view: Any, path_parameters: list[dict], schemas: _Schemas) -> dict:
    contract = getattr(view, "djng_contract", None)
    operation: dict[str, Any] = {"operationId": _operation_id(method, view)}
    doc = (getattr(view, "__doc__", None) or "").strip()
    if doc:
        operation["summary"] = doc.splitlines()[0]
        if len(doc.splitlines()) > 1:
            operation["description"] = doc
    parameters = list(path_parameters)
    problems = {404} if path_parameters else set()
    success: dict[str, Any] = {"description": "Success"}
    if contract is not None:
        for query in contract.query:
            parameter: dict[str, Any] = {
                "name": query.name, "in": "query", "required": query.required,
                "schema": schemas.of(query.type),
            }
            if query.many:
                parameter["style"], parameter["explode"] = "form", True
            parameters.append(parameter)
        if contract.query:
            problems.add(422)
        if contract.body is not None:
            operation["requestBody"] = {
                "required": contract.body.required,
                "content": {media: {"schema": schemas.of(contract.body.type)} for media in MEDIA},
            }
            problems |= {400, 413, 415, 422}
        if contract.returns is not None:
            success["content"] = {media: {"schema": schemas.of(contract.returns)}
                                  for media in MEDIA}
            problems.add(406)
    problems |= set(getattr(view, "djng_answers", ()))
    if parameters:
        operation["parameters"] = parameters
    responses: dict[str, Any] = {"2XX": success}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for status in sorted(problems):
        description = REASONS.get(status) or REASON_PHRASES.get(status, "Problem")
        responses[str(status)] = {"description": description, "content": problem}
    operation["responses"] = responses
    return operation


def _operation_id(method: str, view: Any) -> str:
    name = view_name(getattr(view, "__wrapped__", view)).replace("<locals>.", "")
    return f"{method.lower()}_{name.replace('.', '_')}"


class _Schemas:
    """The JSON Schemas of the types the operations name, as shared components."""

    def __init__(self) -> None:
        self.types: list[Any] = []
        self.refs: dict[int, dict] = {}

    def of(self, kind: Any) -> dict:
        """A schema for ``kind``, filled in by :meth:`components` (so all share one pass)."""
        placeholder: dict = {}
        self.types.append((kind, placeholder))
        return placeholder

    def components(self) -> dict:
        import msgspec

        components: dict[str, Any] = {"Problem": PROBLEM}
        plain = [(kind, slot) for kind, slot in self.types if not wire.holds_pydantic(kind)]
        if plain:
            refs, found = msgspec.json.schema_components(
                [kind for kind, _ in plain], ref_template="#/components/schemas/{name}"
            )
            components.update(found)
            for (_, slot), schema in zip(plain, refs, strict=True):
                slot.update(schema)
        for kind, slot in self.types:
            if wire.holds_pydantic(kind):
                slot.update(_pydantic_schema(kind, components))
        return components


def _pydantic_schema(kind: Any, components: dict) -> dict:
    """pydantic's JSON Schema of ``kind``, its definitions moved to ``components``."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    if wire.is_pydantic(kind):  # a component, as msgspec makes of a Struct
        components[kind.__name__] = schema
        return {"$ref": f"#/components/schemas/{kind.__name__}"}
    return schema


# -- the page -----------------------------------------------------------------------------------


def openapi_page(schema_url: str = "openapi.json", *, title: str = "API") -> Callable:
    """A page listing the operations of the document at ``schema_url`` (relative to the
    page), with their parameters and schemas; everything it needs is in the page."""
    # The URL is a JavaScript string in a <script>, where HTML entities are not decoded:
    # JSON, with the characters that could end the script escaped.
    url = json.dumps(schema_url).replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026")
    body = _PAGE.replace("{title}", html.escape(title)).replace("{url}", url)

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(body, content_type="text/html; charset=utf-8")

    view.djng_openapi = False
    return view


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em }
details { border: 1px solid #ddd; border-radius: 4px; margin: .5em 0; padding: .3em .8em }
summary { cursor: pointer } code, pre { font-size: 13px }
pre { background: #f6f6f6; padding: .6em; overflow: auto }
.method { display: inline-block; min-width: 4.5em; font-weight: bold; text-transform: uppercase }
</style></head>
<body><h1 id="title">{title}</h1><p id="info"></p><div id="operations">Loading…</div>
<script>
const show = (value) => JSON.stringify(value, null, 1);
fetch({url}).then((answer) => answer.json()).then((doc) => {
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("info").textContent = doc.info.description || "";
  const list = document.getElementById("operations");
  list.textContent = "";
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const box = document.createElement("details");
      box.className = "operation";
      const line = document.createElement("summary");
      const verb = document.createElement("span");
      verb.className = "method";
      verb.textContent = method;
      const where = document.createElement("code");
      where.textContent = path;
      line.append(verb, where, " ", operation.summary || "");
      const detail = document.createElement("pre");
      detail.textContent = show({parameters: operation.parameters || [],
        requestBody: operation.requestBody, responses: operation.responses});
      box.append(line, detail);
      list.append(box);
    }
  }
  const schemas = document.createElement("details");
  schemas.innerHTML = "<summary>Schemas</summary>";
  const all = document.createElement("pre");
  all.textContent = show(doc.components.schemas);
  schemas.append(all);
  list.append(schemas);
}).catch((error) => {
  document.getElementById("operations").textContent = "Could not load the document: " + error;
});
</script></body></html>
"""
