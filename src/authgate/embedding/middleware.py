"""Pure-ASGI authentication middleware (never ``BaseHTTPMiddleware``: it costs throughput).

For each HTTP request: refuse ambiguous or oversized credential headers, build a
:class:`RequestView`, run the scheme chain, and either answer the uniform error or put
the :class:`Identity` (or None for no credentials) into the scope under
``"authgate.identity"`` for the app. Failures are audited with the trusted client IP.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from authgate.audit import AuditRecord, AuditSink
from authgate.errors import AuthError, InvalidRequest, PayloadTooLarge
from authgate.http.asgi import (
    CLIENT_IP_SCOPE_KEY,
    IDENTITY_SCOPE_KEY,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    get_identity,
    read_body,
    request_path,
    send_error,
)
from authgate.http.client_certs import tls_client_chain
from authgate.http.headers import Headers
from authgate.http.proxies import TrustedProxies
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.metrics import AuthgateMetrics
from authgate.schemes.chain import SchemeChain
from authgate.schemes.fastpath import VerifiedIdentityCache

# the ASGI names and scope keys live in authgate.http.asgi; re-exported for importers
__all__ = [
    "CLIENT_IP_SCOPE_KEY",
    "IDENTITY_SCOPE_KEY",
    "ASGIApp",
    "AuthMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "get_identity",
    "send_error",
]

log = logging.getLogger("authgate.auth")


class AuthMiddleware:
    """Authenticate every HTTP request with a :class:`SchemeChain`.

    With a :class:`VerifiedIdentityCache`, a request whose only credential is one header
    already verified by a cacheable scheme skips the chain (see :mod:`authgate.schemes.fastpath`).
    """

    def __init__(
        self,
        app: ASGIApp,
        chain: SchemeChain,
        *,
        audit: AuditSink | None = None,
        trusted_proxies: TrustedProxies | None = None,
        max_credential_length: int = 4096,
        max_body: int = 1024 * 1024,
        verified: VerifiedIdentityCache | None = None,
        metrics: AuthgateMetrics | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.chain = chain
        self.audit = audit
        self.proxies = trusted_proxies or TrustedProxies()
        self.max_credential_length = max_credential_length
        self.max_body = max_body
        self.verified = verified
        self._credential = frozenset(h.encode() for h in chain.credential_headers)
        self._single = self._credential | {b"host"}
        self._params = frozenset(chain.credential_params)
        self._proxied = self.proxies.enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else None
        try:
            credential = self._scan(scope["headers"])
            cache_key = self._cache_key(scope, credential) if credential is not None else None
            identity = None
            if cache_key is not None:
                assert self.verified is not None  # noqa: S101 - no cache, no key
                identity = self.verified.get(cache_key)
            if identity is not None:  # the hot path: verified before, by this header alone
                client_ip = self._client_ip(scope, peer) if self._proxied else peer
                if self.metrics is not None:
                    hits = self.metrics.cache_hits
                    hits[identity.scheme] = hits.get(identity.scheme, 0) + 1
            else:
                identity, client_ip, receive = await self._authenticate(
                    scope, receive, peer, cache_key
                )
        except AuthError as error:
            await self._audit_failure(error, scope, self._client_ip(scope, peer))
            await send_error(send, error)
            return
        except _Gone:
            return  # the client went away while its body was read: nobody to answer
        except Exception as exc:
            # A scheme's bug must not skip the audit trail or leak a traceback: it is a
            # failed authentication like any other, answered with a bare 500.
            log.exception("authentication failed unexpectedly")
            unexpected = AuthError(reason=f"unexpected {type(exc).__name__} while authenticating")
            await self._audit_failure(unexpected, scope, self._client_ip(scope, peer))
            await send_error(send, unexpected)
            return
        scope[IDENTITY_SCOPE_KEY] = identity
        scope[CLIENT_IP_SCOPE_KEY] = client_ip
        await self.app(scope, receive, send)

    def _cache_key(self, scope: Scope, credential: tuple[bytes, bytes]) -> bytes | None:
        """The verified-identity cache's key for a request whose only credential is
        ``credential``, or None when the request may not use the cache: a credential in
        the query string, or a client certificate (a credential too)."""
        if self.verified is None:
            return None
        query: bytes = scope.get("query_string", b"")
        if query and not self._no_query_credential(query):
            return None
        if "extensions" in scope and _has_tls_client_cert(scope):
            return None
        return self.verified.key(*credential)

    async def _authenticate(
        self, scope: Scope, receive: Receive, peer: str | None, cache_key: bytes | None
    ) -> tuple[Identity | None, str | None, Receive]:
        """Run the scheme chain: the identity (None: no credentials), the trusted client
        address, and the channel the app reads the body from.

        Raises:
            AuthError: the request is refused.
            _Gone: the client disconnected while a signing scheme read its body.
        """
        headers = Headers.from_asgi(scope["headers"])
        client_ip = self.proxies.client_ip(peer, headers)
        view = RequestView(
            method=scope["method"],
            scheme=scope.get("scheme", "http"),
            authority=headers.get("host") or "",
            path=request_path(scope),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            client_ip=client_ip,
            peer=peer,
            tls_client_chain=tls_client_chain(scope) if "extensions" in scope else (),
        )
        verified = self.verified
        epoch = verified.epoch if verified is not None else 0
        scheme = self.chain.select(view)
        if scheme is None:
            if self.metrics is not None:
                self.metrics.requests.inc("none", "anonymous")
            return None, client_ip, receive
        if scheme.needs_body:
            body = await read_body(receive, self.max_body)
            if body is None:
                raise _Gone
            view = _with_body(view, body)
            receive = _replay(body, receive)
        metrics = self.metrics
        if metrics is None:
            identity = await scheme.authenticate(view)
        else:
            if cache_key is not None:
                metrics.identity_cache.inc("miss")
            started = time.perf_counter()
            try:
                identity = await scheme.authenticate(view)
            except AuthError:
                metrics.requests.inc(scheme.name, "failure")
                raise
            finally:
                metrics.verification.observe(time.perf_counter() - started, scheme.name)
            metrics.requests.inc(scheme.name, "success")
        if cache_key is not None and scheme.cacheable and verified is not None:
            verified.put(cache_key, identity, epoch=epoch)
        return identity, client_ip, receive

    async def screen(self, scope: Scope, send: Send) -> bool:
        """The middleware's header checks without its chain, for endpoints that
        authenticate the caller themselves (the OAuth token endpoints).

        Returns:
            True when the headers pass; False when the request was refused (audited and
            answered here: the caller must not answer it again).
        """
        try:
            self._scan(scope["headers"])
        except AuthError as error:
            await self._audit_failure(error, scope, self.client_ip(scope))
            await send_error(send, error)
            return False
        return True

    def client_ip(self, scope: Scope) -> str | None:
        """The trusted client address (X-Forwarded-For only from trusted proxies)."""
        client = scope.get("client")
        return self._client_ip(scope, client[0] if client else None)

    def _scan(self, raw: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes] | None:
        """One pass over the headers.

        Refuses a duplicated Host or credential header (400) and an oversized credential
        (413). Returns the credential header when it is the only one, else None.
        """
        single = self._single
        found: tuple[bytes, bytes] | None = None
        credentials = 0
        seen: list[bytes] = []  # a request has few of these headers: a list is cheapest
        for name, value in raw:
            if name not in single:
                name = name.lower()  # ASGI servers send lower-case names; be sure anyway
                if name not in single:
                    continue
            if name in seen:  # any repeat, also when other headers stand in between
                raise InvalidRequest(f"duplicate {name.decode()} header")
            seen.append(name)
            if name == b"host":
                continue
            if len(value) > self.max_credential_length:
                raise PayloadTooLarge("credential header too large")
            found = (name, value)
            credentials += 1
        return found if credentials == 1 else None

    def _no_query_credential(self, query: bytes) -> bool:
        """No query parameter that may carry a credential (names decoded as the schemes
        decode them: ``oauth%5Fsignature`` is ``oauth_signature``)."""
        if not query or not self._params:
            return True
        names = {k.lower() for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
        return names.isdisjoint(self._params)

    def _client_ip(self, scope: Scope, peer: str | None) -> str | None:
        if not self._proxied:
            return peer
        return self.proxies.client_ip(peer, Headers.from_asgi(scope["headers"]))

    async def _audit_failure(self, error: AuthError, scope: Scope, client_ip: str | None) -> None:
        if self.audit is None:
            return
        await self.audit.emit(AuditRecord.refusal(error, scope, client_ip))


class _Gone(Exception):  # a signal: the client disconnected
    """The client disconnected before its body was read."""


def _has_tls_client_cert(scope: Scope) -> bool:
    extensions: dict[str, Any] | None = scope.get("extensions")
    if not extensions or "tls" not in extensions:
        return False
    return bool(tls_client_chain(scope))


def _with_body(view: RequestView, body: bytes) -> RequestView:
    return dataclasses.replace(view, body=body)


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
