"""Forward auth: ``/verify`` for nginx ``auth_request``, Traefik ForwardAuth, Envoy ``ext_authz``.

The proxy asks, for each request it received, whether to let it through. authgate
rebuilds the original request from the subrequest (:func:`~authgate.http.forwarded.original_scope`)
and runs it through the same scheme chain and policy as any request it serves itself:

- 200 with the identity headers (:mod:`authgate.http.identity_headers`) when the
  credentials verify and the policy allows the original method and path; an anonymous
  request passes (with the headers empty) only where a policy file allows it: without
  one, forward auth requires credentials, as the admin API does;
- 401 with ``WWW-Authenticate``, 403, or 400 (a malformed or ambiguous request) with the
  error body every endpoint sends, otherwise.

Only a trusted proxy (``trusted_proxies``) may ask: from any other peer the forwarding
headers mean nothing, so the request is refused (403) rather than judged as the
``/verify`` request it literally is.
"""

from __future__ import annotations

from collections.abc import Callable

from authgate.audit import AuditRecord, AuditSink
from authgate.errors import AuthError, Forbidden
from authgate.http.asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    get_identity,
    send_error,
    send_response,
)
from authgate.http.forwarded import original_scope
from authgate.http.identity_headers import identity_headers
from authgate.http.proxies import TrustedProxies
from authgate.policy.middleware import DECISION_SCOPE_KEY

__all__ = ["VERIFY_PATH", "ForwardAuth", "is_verify_path"]

VERIFY_PATH = "/verify"
_VERIFY_SUB = VERIFY_PATH + "/"


def is_verify_path(path: str) -> bool:
    """``/verify`` itself, or below it (Envoy appends the original path to its prefix)."""
    return path == VERIFY_PATH or path.startswith(_VERIFY_SUB)


class ForwardAuth:
    """The ``/verify`` endpoint.

    Args:
        wrap: puts the authentication middleware (and the policy) in front of the app it
            is given, as the server wires them for its own requests.
        unauthorized: the 401 (with the chain's challenges) for a request without
            credentials that no policy lets through.
        proxies: the proxies allowed to ask.
        audit: where refusals of untrusted peers are recorded.
    """

    def __init__(
        self,
        wrap: Callable[[ASGIApp], ASGIApp],
        *,
        unauthorized: Callable[[], AuthError],
        proxies: TrustedProxies,
        audit: AuditSink | None = None,
    ) -> None:
        self.pipeline = wrap(self._answer)
        self.unauthorized = unauthorized
        self.proxies = proxies
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        peer = client[0] if client else None
        try:
            if not self.proxies.is_trusted(peer):
                raise Forbidden(
                    "forward auth answers trusted proxies only",
                    reason=f"/verify from {peer}, which is not in trusted_proxies",
                )
            original = original_scope(scope, VERIFY_PATH)
        except AuthError as error:
            if self.audit is not None:
                await self.audit.emit(AuditRecord.refusal(error, scope, peer))
            await send_error(send, error)
            return
        await self.pipeline(original, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The end of the pipeline: the request passed; say who made it."""
        identity = get_identity(scope)
        decision = scope.get(DECISION_SCOPE_KEY)
        if identity is None and (decision is None or not decision.allowed):
            await send_error(send, self.unauthorized())
            return
        headers = [*identity_headers(identity), (b"cache-control", b"no-store")]
        await send_response(send, 200, headers, b"")
