"""``djng.remote('users')``: an app that is another service, called through ``djng.clients``.

``djng.mount('api/users', djng.remote('users'))`` splits a monolith by changing
one line: where the local ``users`` Router was mounted, every request under the
mount is forwarded to the service ``users`` (method, the path under the mount,
query string, body and headers, hop-by-hop headers left out), and its answer,
whatever its status, is the response: headers (every ``Set-Cookie``) and the
body as it comes, still encoded. Bodies stream both ways. A service that cannot
be reached answers 502, one that sends no answer before its deadline 504
(``djng.clients.RemoteError``/``RemoteTimeout``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from . import _django
from .from_wsgi import set_wsgi_headers
from .layers import declare_async
from .propagation import outgoing_headers
from .services.clients import Streamed, clients

__all__ = ["remote"]

#: Headers that belong to one connection (RFC 9110 7.6.1), and those the
#: transport sets again for the request it sends.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host",
})
#: A request body larger than this, or of no stated size, is streamed (and not retried).
CHUNK = 64 * 1024


def remote(name: str) -> Callable:
    """An app that forwards each request it gets to the service ``name`` (``djng.clients``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"djng.remote() needs the name of a service in djng.clients, got {name!r}")

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        transport = clients[name].transport
        body = _body(request, _chunks)
        return _response(transport.stream(name, request.method, *_forwarded(request, body)))

    async def twin(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        transport = clients[name].transport
        body = _body(request, _achunks)
        answer = await transport.astream(name, request.method, *_forwarded(request, body))
        return _response(answer)

    view.__name__ = view.__qualname__ = f"remote({name!r})"
    view.csrf_exempt = True  # the service it forwards to checks its own requests
    return declare_async(view, twin)


def _forwarded(request: HttpRequest, body: Any) -> tuple[str, Any, dict, str | None]:
    """``(path, body, headers, query)`` of the request to send on."""
    propagated = outgoing_headers()  # the request id, the trace with a new parent id
    # httpx states the body's length itself (or sends it chunked, streamed).
    replaced = HOP_BY_HOP | {"content-length"} | {name.lower() for name in propagated}
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in replaced
    }
    headers.update(propagated)
    # The body comes back as the service encodes it: only as the client accepts.
    headers.setdefault("Accept-Encoding", "identity")
    query = request.META.get("QUERY_STRING") or None
    return request.path_info, body, headers, query


def _body(request: HttpRequest, stream: Callable[[HttpRequest], Any]) -> Any:
    """The body to send: whole when of a stated size within Django's upload limit,
    else ``stream(request)``; ``None`` for none."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 and "HTTP_TRANSFER_ENCODING" not in request.META:
        return None
    limit = _django.setting("DATA_UPLOAD_MAX_MEMORY_SIZE")
    if 0 < length and (limit is None or length <= limit):
        return request.body
    return stream(request)


def _chunks(request: HttpRequest) -> Iterator[bytes]:
    stream = _django.unread_body(request)
    while chunk := stream.read(CHUNK):
        yield chunk


async def _achunks(request: HttpRequest) -> AsyncIterator[bytes]:
    for chunk in _chunks(request):  # under djng.asgi the body is spooled already
        yield chunk


def _response(answer: Streamed) -> StreamingHttpResponse:
    response = StreamingHttpResponse(answer.chunks, status=answer.status)
    lines = [(name, value) for name, value in answer.headers if name.lower() not in HOP_BY_HOP]
    return set_wsgi_headers(response, lines)
