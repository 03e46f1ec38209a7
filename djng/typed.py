"""Typed views: a view's annotations say what it takes and returns, and msgspec holds it to them.

::

    def place(request, order: Order, notify: bool = False) -> Receipt: ...

- a parameter annotated with a struct type (a msgspec ``Struct``, a dataclass,
  a ``TypedDict``, a pydantic model, or a list of one) is the request body,
  read by its ``Content-Type`` (JSON or MessagePack) and validated;
- another annotated parameter that is not in the path comes from the query
  string, converted and validated (``list[int]`` takes the name repeated; one
  with no default is required);
- the return annotation, when given, is checked (a 500 naming the view when
  the view breaks it), and the value is sent as JSON or MessagePack by the
  client's ``Accept``.

What the request gets wrong is one 422 problem listing each place
(``query.limit``, ``$.items[2].qty``); a body that is not JSON or MessagePack is
a 400, one of another type a 415. Path converters stay as they are, and a view
with no such annotations is left exactly as it was. The route keeps the
:class:`Contract` for ``djng.openapi``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponseBase

from . import wire
from .problems import Problem
from .responses import to_response, view_name

__all__ = ["Contract", "Query", "contract_of", "typed"]

_INVALID = "The request does not match what this endpoint takes."


@dataclasses.dataclass(frozen=True)
class Query:
    """A parameter from the query string."""

    name: str
    type: Any
    default: Any  # inspect.Parameter.empty when required
    many: bool  # a list: the name may repeat

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclasses.dataclass(frozen=True)
class Body:
    """The parameter that is the request body."""

    name: str
    type: Any
    default: Any
    decoders: Any  # msgspec's JSON and MessagePack decoders of the type (None: pydantic)
    validate: Any  # pydantic's validator of the type (None: msgspec)

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


class Contract:
    """What a typed view takes and returns (its query, body and return types)."""

    def __init__(self, view: Callable, query: list[Query], body: Body | None,
                 returns: Any) -> None:
        self.view = view
        self.query = query
        self.body = body
        self.returns = returns
        #: The class a returned value may already be (a TypedDict refuses isinstance).
        self._return_class = returns if isinstance(returns, type) and not typing.is_typeddict(
            returns) else None
        #: Converts a returned value into ``returns`` (made once, here).
        self._convert = None if returns is None else _converter(returns)

    def __repr__(self) -> str:
        return f"<Contract of {view_name(self.view)}>"

    # -- the request ------------------------------------------------------------------------

    def inputs(self, request: HttpRequest) -> tuple[dict[str, Any], str | None]:
        """The view's query and body arguments, and the type to answer in; one 422 for
        all that is wrong, then a 406 when the answer could not be sent (before the
        view acts, not after)."""
        values: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for query in self.query:
            _read_query(request, query, values, errors)
        if self.body is not None:
            try:
                values[self.body.name] = self._read_body(request)
            except Problem as problem:
                if problem.status != 422:
                    raise
                errors += problem.errors
        if errors:
            raise Problem(422, _INVALID, errors)
        media_type = None
        if self.returns is not None:
            media_type = wire.response_type(request)
            if media_type is None:
                raise wire.not_acceptable()
        return values, media_type

    def _read_body(self, request: HttpRequest) -> Any:
        body = self.body
        try:
            content = request.body
        except RequestDataTooBig:  # a problem, as the endpoint's other 4xx (not a page)
            raise Problem(413, "The request body is larger than allowed.") from None
        if not content:
            if not body.required:
                return body.default
            raise Problem(422, _INVALID, [{"loc": "$", "message": "A body is required"}])
        if body.decoders is not None:
            return wire.decode(content, request.content_type, body.decoders)
        return _pydantic(body.validate, wire.decode(content, request.content_type))

    # -- the answer -------------------------------------------------------------------------

    def answer(self, request: HttpRequest, result: Any, media_type: str | None) -> HttpResponseBase:
        """The response for what the view returned: checked against its return
        annotation and sent as ``media_type``, or (no annotation) as for any view."""
        if self.returns is None or isinstance(result, HttpResponseBase):
            return to_response(result, self.view)
        value, status, headers = result, 200, None
        if isinstance(result, tuple) and 2 <= len(result) <= 3 and type(result[1]) is int:
            value, status, *rest = result
            headers = rest[0] if rest else None
        response = wire.native_response(self._checked(value), request, status, media_type)
        for name, header in (headers.items() if hasattr(headers, "items") else headers or ()):
            response[name] = header
        return response

    def _checked(self, value: Any) -> Any:
        if self._return_class is not None and isinstance(value, self._return_class):
            return value
        try:
            return self._convert(value)
        except Exception as exc:
            raise TypeError(
                f"The view {view_name(self.view)} returned {value!r:.80}, which does not match "
                f"its return annotation {_name(self.returns)}: {exc}"
            ) from None


def typed(view: Callable, path_names: Iterable[str], source: str) -> Callable:
    """``view``, held to its annotations (unchanged when it has none to hold it to)."""
    contract = contract_of(view, path_names, source)
    if contract is None:
        return view
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def typed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            inputs, media_type = contract.inputs(request)
            try:
                result = await view(request, *args, **kwargs, **inputs)
            except (Http404, PermissionDenied) as exc:
                raise _problem(exc) from exc
            return contract.answer(request, result, media_type)

    else:

        @functools.wraps(view)
        def typed_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            inputs, media_type = contract.inputs(request)
            try:
                result = view(request, *args, **kwargs, **inputs)
            except (Http404, PermissionDenied) as exc:
                raise _problem(exc) from exc
            return contract.answer(request, result, media_type)

    typed_view.djng_contract = contract
    return typed_view


def contract_of(view: Callable, path_names: Iterable[str], source: str) -> Contract | None:
    """The contract ``view``'s annotations declare, or None when they declare none."""
    if not (inspect.isfunction(view) or inspect.ismethod(view)):
        return None
    annotations = getattr(view, "__annotations__", None) or {}
    path_names = set(path_names)
    try:
        parameters = list(inspect.signature(view).parameters.values())[1:]  # after request
    except (TypeError, ValueError):
        return None
    wanted = [p for p in parameters if p.name in annotations and p.name not in path_names
              and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not wanted and "return" not in annotations:
        return None
    try:
        hints = typing.get_type_hints(view, include_extras=True)
    except Exception as exc:
        raise TypeError(
            f"{source}: the annotations of {view_name(view)} cannot be read ({exc}); "
            "define the types they name before the route is made"
        ) from None
    query: list[Query] = []
    body: Body | None = None
    for parameter in wanted:
        kind = hints[parameter.name]
        if _is_body(kind):
            if body is not None:
                raise TypeError(
                    f"{source}: {view_name(view)} takes two bodies ({body.name} and "
                    f"{parameter.name}); a request has one"
                )
            if wire.holds_pydantic(kind):
                body = Body(parameter.name, kind, parameter.default, None, _adapter(kind))
            else:
                body = Body(parameter.name, kind, parameter.default,
                            _decoders(kind, source, view), None)
        else:
            _check_query_type(kind, parameter.name, source, view)
            many = typing.get_origin(_bare(kind)) in (list, tuple, set, frozenset)
            query.append(Query(parameter.name, kind, parameter.default, many))
    returns = hints.get("return")
    if returns is not None and _is_response(returns):
        returns = None
    if not query and body is None and returns is None:
        return None
    return Contract(view, query, body, returns)


# -- helpers ------------------------------------------------------------------------------------


def _problem(exc: Exception) -> Problem:
    """A typed view's 404 or 403 as a problem: an API answers problem+json, whatever
    the client accepts (an HTML page is for a browser's pages)."""
    status = 404 if isinstance(exc, Http404) else 403
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    return Problem(status, detail)


def _read_query(request: HttpRequest, query: Query, values: dict, errors: list) -> None:
    import msgspec

    given = request.GET.getlist(query.name)
    if not given:
        if query.required:
            errors.append({"loc": f"query.{query.name}", "message": "Required, and not given"})
        else:
            values[query.name] = query.default
        return
    try:
        values[query.name] = msgspec.convert(
            given if query.many else given[-1], query.type, strict=False
        )
    except msgspec.ValidationError as exc:
        errors.append(wire.located(str(exc), f"query.{query.name}"))


def _pydantic(validate: Callable[[Any], Any], data: Any) -> Any:
    try:
        return validate(data)
    except Exception as exc:
        found = getattr(exc, "errors", None)
        if found is None:
            raise
        raise Problem(422, _INVALID, [
            {"loc": _json_path(error.get("loc", ())), "message": error.get("msg", "")}
            for error in found()
        ]) from None


def _adapter(kind: Any) -> Callable[..., Any]:
    """pydantic's validator of ``kind`` (a model, ``list[Model]``, ``Model | None``)."""
    from pydantic import TypeAdapter

    return TypeAdapter(kind).validate_python


def _converter(returns: Any) -> Callable[[Any], Any]:
    """What converts a view's returned value (a dict, an object with the attributes)
    into ``returns``, raising when it does not fit."""
    if wire.holds_pydantic(returns):
        validate = _adapter(returns)
        return lambda value: validate(value, from_attributes=True)
    import msgspec

    return lambda value: msgspec.convert(value, returns, from_attributes=True)


def _json_path(location: Iterable[Any]) -> str:
    path = "$"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _bare(kind: Any) -> Any:
    """``kind`` without ``Annotated[...]`` and ``Optional[...]``."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(members) != 1:
                return kind
            kind = members[0]
        else:
            return kind


def _is_struct_like(kind: Any) -> bool:
    return isinstance(kind, type) and (
        dataclasses.is_dataclass(kind) or wire.is_struct(kind) or wire.is_pydantic(kind)
        or typing.is_typeddict(kind)
    )


def _is_body(kind: Any) -> bool:
    kind = _bare(kind)
    if _is_struct_like(kind):
        return True
    if typing.get_origin(kind) is list:
        args = typing.get_args(kind)
        return bool(args) and _is_struct_like(_bare(args[0]))
    return False


def _is_response(kind: Any) -> bool:
    kind = _bare(kind)
    return kind is Any or kind is type(None) or (
        isinstance(kind, type) and issubclass(kind, (HttpResponseBase, str, bytes))
    )


def _decoders(kind: Any, source: str, view: Callable) -> Any:
    try:
        _convertible(kind)
        return wire.decoders(kind)
    except TypeError as exc:
        raise TypeError(f"{source}: {view_name(view)} takes a body of {_name(kind)}: {exc}"
                        ) from None


def _check_query_type(kind: Any, name: str, source: str, view: Callable) -> None:
    import msgspec

    try:
        msgspec.json.Decoder(kind)
        _convertible(kind)
    except TypeError as exc:
        raise TypeError(
            f"{source}: {view_name(view)} takes {name}: {_name(kind)} from the query string, "
            f"which msgspec cannot convert ({exc})"
        ) from None


def _convertible(kind: Any) -> None:
    """A TypeError when ``kind`` is or holds a class msgspec does not know: its decoders
    take one (as a custom type, for a ``dec_hook``), but never make one from data."""
    import msgspec

    try:
        msgspec.json.schema(kind)
    except TypeError as exc:
        message = str(exc).strip()
        if "custom types" in message:  # it ends "type <class 'X'> is not supported"
            raise TypeError(message.splitlines()[-1]) from None
        # Something else JSON Schema cannot say (a msgpack Ext, a Raw default): decodable.


def _name(kind: Any) -> str:
    if typing.get_args(kind):  # list[Item]: its __qualname__ would be list's
        return repr(kind)
    return getattr(kind, "__qualname__", None) or repr(kind)
