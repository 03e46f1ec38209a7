"""``djng.remote('users')``: an app that is another service, called through ``djng.clients``.

``djng.mount('api/users', djng.remote('users'))`` splits a monolith by changing
one line: where the local ``users`` Router was mounted, every request under the
mount is forwarded to the service ``users`` (method, the path under the mount,
query string, body and headers, hop-by-hop headers left out), and its answer,
whatever its status, is the response. A service that cannot be reached answers
502, one past its deadline 504 (``djng.clients.RemoteError``/``RemoteTimeout``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .layers import declare_async
from .propagation import outgoing_headers
from .services.clients import clients

__all__ = ["remote"]

#: Headers that belong to one connection (RFC 9110 7.6.1), and those the
#: transport sets again for the body it sends or the one it hands back decoded.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-encoding",
})


def remote(name: str) -> Callable:
    """An app that forwards each request it gets to the service ``name`` (``djng.clients``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"djng.remote() needs the name of a service in djng.clients, got {name!r}")

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        transport = clients[name].transport
        answer = transport.send(name, request.method, *_forwarded(request), timeout=None)
        return _response(*answer)

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        transport = clients[name].transport
        answer = await transport.asend(name, request.method, *_forwarded(request), timeout=None)
        return _response(*answer)

    view.__name__ = view.__qualname__ = f"remote({name!r})"
    view.csrf_exempt = True  # the service it forwards to checks its own requests
    return declare_async(view, twin)


def _forwarded(request: HttpRequest) -> tuple[str, bytes | None, dict, str | None]:
    """``(path, body, headers, query)`` of the request to send on."""
    propagated = outgoing_headers()  # the request id, the trace with a new parent id
    replaced = HOP_BY_HOP | {name.lower() for name in propagated}
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in replaced
    }
    headers.update(propagated)
    body = request.body or None
    query = request.META.get("QUERY_STRING") or None
    return request.path_info, body, headers, query


def _response(status: int, headers: dict, content: bytes) -> HttpResponse:
    response = HttpResponse(content, status=status)
    del response["Content-Type"]
    for name, value in headers.items():
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    return response
