"""Native objects on the wire: JSON, the default, and MessagePack, by negotiation.

What a view returns as plain data (a dict or list, a msgspec ``Struct``, a
dataclass, a pydantic model, a date, ``Decimal`` or ``UUID``) is sent as JSON,
or as MessagePack when the client's ``Accept`` prefers ``application/msgpack``;
either way the response says ``Vary: Accept``. A typed view's body is read by
its ``Content-Type``. msgspec does the work, imported on first use.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import typing
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse

from . import _django
from .problems import Problem

__all__ = [
    "JSON", "MSGPACK", "MSGPACK_NAMES", "decode", "decoders", "encode", "format_of",
    "holds_pydantic", "is_native", "is_pydantic", "is_struct", "located", "native_response",
    "not_acceptable", "preferred_type", "response_type", "VARY_ACCEPT",
]

JSON = "application/json"
MSGPACK = "application/msgpack"
#: The header of an answer whose format follows the request's Accept.
VARY_ACCEPT = ("Vary", "Accept")
#: The names MessagePack goes by (the IANA registration first).
MSGPACK_NAMES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
#: What a client may ask for, in the server's order of preference.
OFFERED = (JSON, *MSGPACK_NAMES)
SUPPORTED = "application/json or application/msgpack"

#: The type each Accept header prefers among each set of choices (bounded).
_preferred: dict[tuple[str, tuple[str, ...]], str | None] = {}
_PREFERRED_LIMIT = 512


def preferred_type(request: HttpRequest, choices: tuple[str, ...]) -> str | None:
    """Which of ``choices`` the client's ``Accept`` header prefers (None: none of them).

    Django parses the header (and builds ``request.headers``) on every call; the
    answer depends only on the header, so it is remembered for the headers seen
    most (a malformed one counts as accepting none).
    """
    key = (request.META.get("HTTP_ACCEPT", "*/*"), choices)
    try:
        return _preferred[key]
    except KeyError:
        pass
    try:
        preferred = request.get_preferred_type(choices)
    except Exception:  # a malformed Accept header must not turn an error into a crash
        preferred = None
    if len(_preferred) >= _PREFERRED_LIMIT:
        _preferred.clear()
    _preferred[key] = preferred
    return preferred


_SCALARS = (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal, uuid.UUID)


def is_native(value: Any) -> bool:
    """Whether ``value`` is plain data a view may return (dicts and lists aside)."""
    if isinstance(value, _SCALARS):
        return True
    kind = type(value)
    return dataclasses.is_dataclass(kind) or is_struct(kind) or is_pydantic(kind)


def is_struct(kind: Any) -> bool:
    """A msgspec ``Struct`` class (msgspec is not imported to tell)."""
    return isinstance(kind, type) and any(
        base.__name__ == "Struct" and base.__module__ == "msgspec" for base in kind.__mro__
    )


def is_pydantic(kind: Any) -> bool:
    """A pydantic model class (pydantic is not imported to tell)."""
    return isinstance(kind, type) and hasattr(kind, "model_validate") and hasattr(
        kind, "model_fields")


def holds_pydantic(kind: Any) -> bool:
    """Whether ``kind`` is a pydantic model, or holds one (``list[Model]``, ``Model | None``)."""
    return is_pydantic(kind) or any(holds_pydantic(arg) for arg in typing.get_args(kind))


def response_type(request: HttpRequest | None) -> str | None:
    """The type to answer ``request`` in: JSON unless it prefers MessagePack;
    None when it accepts neither (a 406)."""
    accept = None if request is None else request.META.get("HTTP_ACCEPT")
    if not accept or accept == "*/*" or accept == JSON:
        return JSON
    return preferred_type(request, OFFERED)


def native_response(value: Any, request: HttpRequest | None, status: int = 200,
                    media_type: str | None = None) -> HttpResponse:
    """``value`` encoded as ``media_type``, or as ``request`` asks (406 when it accepts
    no format we send)."""
    if media_type is None:
        media_type = response_type(request)
        if media_type is None:
            raise not_acceptable()
    response = HttpResponse(encode(value, media_type), status=status, content_type=media_type)
    _django.header_store(response)["vary"] = VARY_ACCEPT
    return response


def not_acceptable() -> Problem:
    return Problem(406, f"This answer is sent as {SUPPORTED}; the request accepts neither.")


def encode(value: Any, media_type: str = JSON) -> bytes:
    """``value`` as ``media_type`` (JSON or one of the MessagePack names)."""
    encoders = _encoders()
    return (encoders[0] if media_type == JSON else encoders[1])(value)


def format_of(content_type: str) -> str | None:
    """``'json'`` or ``'msgpack'`` for a body of ``content_type`` (no parameters); None
    for another. A body of no stated type is read as JSON."""
    if not content_type or content_type == JSON or content_type.endswith("+json"):
        return "json"
    if content_type in MSGPACK_NAMES:
        return "msgpack"
    return None


def decode(body: bytes, content_type: str, decoder: Any = None) -> Any:
    """The value of a request ``body``: with ``decoder`` (a pair of msgspec decoders,
    JSON and MessagePack, of a type), or as plain data. A 415 for another type, a
    400 for a body that is not what it says, a 422 (``Problem.errors``) for one
    that does not fit the type."""
    import msgspec

    kind = format_of(content_type)
    if kind is None:
        raise Problem(415, f"Send the body as {SUPPORTED}, not {content_type}.")
    if decoder is None:
        decoder = _plain_decoders()
    try:
        return decoder[0 if kind == "json" else 1].decode(body)
    except msgspec.ValidationError as exc:
        raise Problem(422, "The body does not match what this endpoint takes.",
                      [located(str(exc), "$")]) from None
    except msgspec.DecodeError as exc:
        name = "JSON" if kind == "json" else "MessagePack"
        raise Problem(400, f"The body is not valid {name}: {exc}") from None
    except RecursionError:  # msgspec decodes nested arrays and objects recursively
        name = "JSON" if kind == "json" else "MessagePack"
        raise Problem(400, f"The body is not valid {name}: it is nested too deeply") from None


def located(message: str, root: str) -> dict[str, str]:
    """A msgspec message (``Expected `int`, got `str` - at `$.items[2].qty```) as
    ``{"loc": "$.items[2].qty", "message": "Expected `int`, got `str`"}``;
    ``root`` is where it is when the message names no place."""
    text, marker, where = message.rpartition(" - at `")
    if not marker:
        return {"loc": root, "message": message}
    return {"loc": root + where.rstrip("`")[1:], "message": text}


def _enc_hook(value: Any) -> Any:
    """What msgspec cannot encode itself: pydantic models, Django's lazy strings."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json")
    from django.utils.functional import Promise

    if isinstance(value, Promise):
        return str(value)
    raise NotImplementedError(f"Objects of type {type(value).__name__} cannot be sent as data")


@functools.cache
def _encoders() -> tuple[Any, Any]:
    import msgspec

    return (
        msgspec.json.Encoder(enc_hook=_enc_hook).encode,
        msgspec.msgpack.Encoder(enc_hook=_enc_hook).encode,
    )


@functools.cache
def _plain_decoders() -> tuple[Any, Any]:
    return decoders(Any)


def decoders(kind: Any) -> tuple[Any, Any]:
    """The JSON and MessagePack decoders of ``kind`` (made once per typed view).

    Lax, as JSON Schema is: ``1.0`` is an integer; a number sent as a string is
    taken too."""
    import msgspec

    return msgspec.json.Decoder(kind, strict=False), msgspec.msgpack.Decoder(kind, strict=False)
