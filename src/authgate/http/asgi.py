"""ASGI type names, the scope keys authgate writes, and the helpers every front shares.

The middleware puts the caller's :class:`~authgate.identity.Identity` (None: no
credentials were sent) under :data:`IDENTITY_SCOPE_KEY` and the trusted client address
under :data:`CLIENT_IP_SCOPE_KEY`; every front (policy, OAuth endpoints, the app) reads
them from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import quote

from authgate.errors import AuthError, PayloadTooLarge, render
from authgate.identity import Identity

__all__ = [
    "CLIENT_IP_SCOPE_KEY",
    "IDENTITY_SCOPE_KEY",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "fold_headers",
    "get_identity",
    "read_body",
    "request_path",
    "send_error",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

IDENTITY_SCOPE_KEY = "authgate.identity"
CLIENT_IP_SCOPE_KEY = "authgate.client_ip"

# what a decoded path may keep unescaped when it has to be re-encoded (no raw_path):
# everything RFC 3986 §3.3 allows in a segment except '%', so nothing is decoded twice
_SAFE = "/!$&'()*+,;=:@-._~"


def request_path(scope: Scope) -> str:
    """The request's own raw path: ``raw_path`` up to ``?``, never a forwarded header.

    The one path every front reads (the scheme chain, the policy, the OAuth endpoints).
    Servers that do not provide ``raw_path`` give only the decoded ``path``; it is
    re-encoded so that it is decoded exactly once again (an encoded ``%2F`` is lost by
    then, which only such servers can cause).
    """
    raw: bytes | None = scope.get("raw_path")
    if raw:
        path = raw.decode("latin-1")
        return path.partition("?")[0] if "?" in path else path
    decoded: str = scope.get("path") or "/"
    return quote(decoded, safe=_SAFE)


def get_identity(scope: Scope) -> Identity | None:
    """The identity the middleware put in ``scope`` (None: no credentials were sent)."""
    identity: Identity | None = scope.get(IDENTITY_SCOPE_KEY)
    return identity


def fold_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated headers (several ``WWW-Authenticate`` challenges) folded into one
    comma-separated value each (RFC 9110 §5.3, §11.6.1), in first-seen order."""
    folded: dict[str, str] = {}
    for name, value in headers:
        folded[name] = f"{folded[name]}, {value}" if name in folded else value
    return folded


async def send_response(
    send: Send,
    status: int,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    tail: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Start and finish a response: ``headers``, ``Content-Length``, then ``tail`` (the
    order Starlette's responses use, so a plain-ASGI answer and its FastAPI twin send the
    same bytes). The headers go out in a fresh list: whatever wraps the app may change it.
    """
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", b"%d" % len(body)), *tail],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: AuthError) -> None:
    """The one error writer of every plain-ASGI front (middleware, policy, server, OAuth
    endpoints): :func:`~authgate.errors.render`'s answer with repeated headers (several
    ``WWW-Authenticate`` challenges) folded by :func:`fold_headers`, as FastAPI's error
    handler sends it."""
    status, headers, body = render(error)
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in fold_headers(headers).items()]
    await send_response(send, status, raw, body)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when the client disconnected first.

    Raises:
        PayloadTooLarge: more than ``limit`` bytes arrived.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge("The request body is too large.")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
