"""Audit records of the OAuth endpoints' security events (built here, emitted by callers).

- A failed client authentication at ``/oauth/token``, ``/introspect``, ``/revoke`` and
  ``/device_authorization`` (RFC 6749 §2.3): these endpoints authenticate clients
  themselves, outside the scheme chain, so the chain's ``auth.failure`` record does not
  cover them. Recorded: endpoint, claimed client id, method, reason, trusted client IP —
  never the secret or the assertion.
- A refresh token presented again after use, which revokes its whole family (RFC 9700
  §4.14.2): at ``/oauth/token`` and at ``POST /auth/refresh``.
- A grant's own events: user-delegated tokens issued (``oauth.token_issued``), an
  authorization code redeemed twice (``oauth.code_replayed``, RFC 6749 §4.1.2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from authgate.audit.events import AuditRecord
from authgate.errors import AuthError, InvalidCredentials
from authgate.oauth.client_auth import PresentedClient
from authgate.oauth.clients import ClientRecord
from authgate.store.models import User
from authgate.store.models_tokens import RefreshTokenRecord

__all__ = ["client_auth_failure", "grant_event", "is_family_revocation", "refresh_reuse"]


def client_auth_failure(
    exc: AuthError,
    presented: PresentedClient | None,
    record: ClientRecord | None,
    *,
    path: str,
    client_ip: str | None,
) -> AuditRecord:
    """``auth.failure`` for a client that failed to authenticate at ``path``."""
    failure = AuditRecord.authentication_failure(
        path,
        reason=exc.reason,
        client_ip=client_ip,
        scheme="oauth_client",
        status=exc.status,
        error=exc.code,
        detail={
            "client_id": presented.client_id if presented is not None else None,
            "client_auth_method": presented.method if presented is not None else None,
        },
    )
    if record is not None:  # a registered client: findable by its id
        failure = dataclasses.replace(failure, credential_id=record.client_id)
    return failure


def is_family_revocation(exc: InvalidCredentials) -> bool:
    """True when a refresh failed because the token was reused and its family revoked.

    :meth:`RefreshTokenService.rotate <authgate.tokens.refresh.RefreshTokenService.rotate>`
    says so in its reason, for a replay and for a concurrent redemption of one token.
    """
    return "family revoked" in exc.reason


def refresh_reuse(
    row: RefreshTokenRecord, exc: InvalidCredentials, *, path: str, client_ip: str | None
) -> AuditRecord:
    """``token.refresh_reuse`` for the family of ``row``, just revoked."""
    return AuditRecord.refresh_token_reuse(
        path,
        family_id=row.family_id,
        user_id=row.user_id,
        client_id=row.client_id,
        credential_id=row.credential_id,
        reason=exc.reason,
        client_ip=client_ip,
    )


def grant_event(
    event: str, client: ClientRecord, user: User | None, *, outcome: str = "success", **detail: Any
) -> AuditRecord:
    """``event`` of a grant to ``client`` (acting for ``user``, if any)."""
    return AuditRecord(
        event,
        outcome=outcome,
        actor_id=user.id if user is not None else None,
        actor=user.name if user is not None else None,
        credential_id=client.client_id,
        scheme="oauth2",
        detail={"client_id": client.client_id, **detail},
    )
