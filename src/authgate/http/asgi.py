"""ASGI type names, the scope keys authgate writes, and the one error writer.

The middleware puts the caller's :class:`~authgate.identity.Identity` (None: no
credentials were sent) under :data:`IDENTITY_SCOPE_KEY` and the trusted client address
under :data:`CLIENT_IP_SCOPE_KEY`; every front (policy, OAuth endpoints, the app) reads
them from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from authgate.errors import AuthError, render
from authgate.identity import Identity

__all__ = [
    "CLIENT_IP_SCOPE_KEY",
    "IDENTITY_SCOPE_KEY",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "get_identity",
    "send_error",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

IDENTITY_SCOPE_KEY = "authgate.identity"
CLIENT_IP_SCOPE_KEY = "authgate.client_ip"


def get_identity(scope: Scope) -> Identity | None:
    """The identity the middleware put in ``scope`` (None: no credentials were sent)."""
    identity: Identity | None = scope.get(IDENTITY_SCOPE_KEY)
    return identity


async def send_error(send: Send, error: AuthError) -> None:
    status, headers, body = render(error)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
