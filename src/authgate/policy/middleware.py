"""Pure-ASGI policy enforcement, placed *inside* :class:`~authgate.embedding.AuthMiddleware`.

``AuthMiddleware`` authenticates and puts the :class:`~authgate.identity.Identity` (or None)
and the trusted client IP into the scope; this middleware decides the request with
:func:`~authgate.policy.evaluate.decide` on the request's own raw path (RFC 3986 §3.3,
``scope["raw_path"]`` up to ``?``) and answers 400/401/403 through the one error renderer,
or calls the app with the :class:`~authgate.policy.evaluate.Decision` in the scope under
``"authgate.decision"`` (the rate-limit layer reads the route's limit from it).

``X-Forwarded-Uri``/``X-Original-URI`` are never read here: the path a policy is decided
on is the one this server received. Forward auth (``/verify``) may decide on the original
URI only when the peer is a trusted proxy.
"""

from __future__ import annotations

from collections.abc import Sequence

from authgate.audit import AuditRecord, AuditSink
from authgate.errors import Unauthorized
from authgate.http.asgi import (
    CLIENT_IP_SCOPE_KEY,
    ASGIApp,
    Receive,
    Scope,
    Send,
    get_identity,
    request_path,
    send_error,
)
from authgate.identity import Identity
from authgate.policy.evaluate import Decision, decide
from authgate.policy.model import Policy

__all__ = ["DECISION_SCOPE_KEY", "PolicyMiddleware", "request_path"]

DECISION_SCOPE_KEY = "authgate.decision"


class PolicyMiddleware:
    """Enforce a :class:`Policy` on every HTTP request (and WebSocket handshake).

    Args:
        app: the ASGI app to protect.
        policy: the policy.
        challenges: ``WWW-Authenticate`` challenges sent with a 401 (the scheme chain's
            ``challenges``).
        audit: where denials are recorded (``policy.denied``), if anywhere.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: Policy,
        *,
        challenges: Sequence[str] = (),
        audit: AuditSink | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        # the No Auth scheme's challenge is empty: never send an empty WWW-Authenticate
        self.challenges = tuple(c for c in challenges if c)
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        identity = get_identity(scope)
        if CLIENT_IP_SCOPE_KEY in scope:
            client_ip: str | None = scope[CLIENT_IP_SCOPE_KEY]
        else:  # no AuthMiddleware in front: the peer is all we can trust
            client = scope.get("client")
            client_ip = client[0] if client else None
        method = scope.get("method", "GET") if kind == "http" else "GET"
        decision = decide(self.policy, method, request_path(scope), identity, client_ip)
        scope[DECISION_SCOPE_KEY] = decision
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        await self._audit(decision, scope, identity, client_ip)
        if kind == "websocket":
            # closing before accept makes the server refuse the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
            return
        error = decision.error
        assert error is not None  # noqa: S101 - a refusal always carries its error
        if isinstance(error, Unauthorized) and not error.challenges:
            error = Unauthorized(reason=error.reason, challenges=self.challenges)
        await send_error(send, error)

    async def _audit(
        self, decision: Decision, scope: Scope, identity: Identity | None, client_ip: str | None
    ) -> None:
        if self.audit is None:
            return
        await self.audit.emit(
            AuditRecord(
                "policy.denied",
                outcome="failure",
                actor_id=identity.principal_id if identity else None,
                actor=identity.subject if identity else None,
                credential_id=identity.credential_id if identity else None,
                scheme=identity.scheme if identity else None,
                client_ip=client_ip,
                detail={
                    "status": decision.status,
                    "error": decision.error.code if decision.error else None,
                    "route": decision.route,
                    "reason": decision.reason,
                    "method": scope.get("method", ""),
                    "path": request_path(scope),
                },
            )
        )
