"""Pure-ASGI authentication middleware (never ``BaseHTTPMiddleware``: it costs throughput).

For each HTTP request: refuse ambiguous or oversized credential headers, build a
:class:`RequestView`, run the scheme chain, and either answer the uniform error or put
the :class:`Identity` (or None for no credentials) into the scope under
``"authgate.identity"`` for the app. Failures are audited with the trusted client IP.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from authgate.audit import AuditRecord, AuditSink
from authgate.errors import AuthError, InvalidRequest, PayloadTooLarge, render
from authgate.gateway.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.schemes.base import Headers, RequestView
from authgate.schemes.chain import SchemeChain

__all__ = [
    "CLIENT_IP_SCOPE_KEY",
    "IDENTITY_SCOPE_KEY",
    "AuthMiddleware",
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
log = logging.getLogger("authgate.auth")

_SINGLE_HEADERS = ("authorization", "host")


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


class AuthMiddleware:
    """Authenticate every HTTP request with a :class:`SchemeChain`."""

    def __init__(
        self,
        app: ASGIApp,
        chain: SchemeChain,
        *,
        audit: AuditSink | None = None,
        trusted_proxies: TrustedProxies | None = None,
        max_credential_length: int = 4096,
        max_body: int = 1024 * 1024,
        credential_headers: tuple[str, ...] = ("authorization", "x-api-key"),
    ) -> None:
        self.app = app
        self.chain = chain
        self.audit = audit
        self.proxies = trusted_proxies or TrustedProxies()
        self.max_credential_length = max_credential_length
        self.max_body = max_body
        self.credential_headers = credential_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers.from_asgi(scope["headers"])
        client = scope.get("client")
        client_ip = self.proxies.client_ip(client[0] if client else None, headers)
        try:
            self._check_headers(headers)
            view = RequestView(
                method=scope["method"],
                scheme=scope.get("scheme", "http"),
                authority=headers.get("host") or "",
                path=_raw_path(scope),
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                client_ip=client_ip,
            )
            scheme = self.chain.select(view)
            identity: Identity | None = None
            if scheme is not None:
                if scheme.needs_body:
                    body = await _read_body(receive, self.max_body)
                    view = _with_body(view, body)
                    receive = _replay(body, receive)
                identity = await scheme.authenticate(view)
        except AuthError as error:
            await self._audit_failure(error, scope, client_ip)
            await send_error(send, error)
            return
        scope[IDENTITY_SCOPE_KEY] = identity
        scope[CLIENT_IP_SCOPE_KEY] = client_ip
        await self.app(scope, receive, send)

    def _check_headers(self, headers: Headers) -> None:
        for name in _SINGLE_HEADERS:
            if headers.count(name) > 1:
                raise InvalidRequest(f"duplicate {name.title()} header")
        for name in self.credential_headers:
            values = headers.get_all(name)
            if len(values) > 1:
                raise InvalidRequest(f"duplicate {name} header")
            if values and len(values[0]) > self.max_credential_length:
                raise PayloadTooLarge("credential header too large")

    async def _audit_failure(self, error: AuthError, scope: Scope, client_ip: str | None) -> None:
        if self.audit is None:
            return
        await self.audit.emit(
            AuditRecord(
                "auth.failure",
                outcome="failure",
                client_ip=client_ip,
                detail={
                    "status": error.status,
                    "error": error.code,
                    "reason": error.reason,
                    "method": scope.get("method", ""),
                    "path": scope.get("path", ""),
                },
            )
        )


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).split(b"?", 1)[0].decode("latin-1")
    path: str = scope.get("path", "/")
    return path


def _with_body(view: RequestView, body: bytes) -> RequestView:
    return dataclasses.replace(view, body=body)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the app the body we already read, then the real channel (for disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
