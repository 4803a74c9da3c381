"""Audit records: what happened, to whom, by whom, from where — never a secret.

Values that come from requests (names, paths, reasons) have control characters escaped
so a hostile value cannot forge log lines or terminal escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from authgate.errors import AuthError
from authgate.identity import Identity

__all__ = ["AuditRecord", "sanitize"]

_MAX_VALUE = 512


def sanitize(value: str) -> str:
    """Escape control characters (C0, DEL, C1) and cap the length."""
    out = []
    for ch in value[:_MAX_VALUE]:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch)
    if len(value) > _MAX_VALUE:
        out.append("…")
    return "".join(out)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return sanitize(value)
    if isinstance(value, dict):
        return {sanitize(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event (UTC timestamp, trusted client IP)."""

    event: str
    outcome: str = "success"
    actor_id: str | None = None
    actor: str | None = None
    target_user_id: str | None = None
    credential_id: str | None = None
    scheme: str | None = None
    client_ip: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def credential_change(
        cls,
        event: str,
        actor: Identity,
        *,
        user_id: str | None,
        credential_id: str,
        client_ip: str | None,
        detail: dict[str, Any],
    ) -> AuditRecord:
        """A change to a credential (key, public key, certificate, client) by ``actor``."""
        return cls(
            event,
            actor_id=actor.principal_id,
            actor=actor.subject,
            target_user_id=user_id,
            credential_id=credential_id,
            scheme=actor.scheme,
            client_ip=client_ip,
            detail=detail,
        )

    @classmethod
    def authentication_failure(
        cls,
        path: str,
        *,
        reason: str,
        client_ip: str | None,
        scheme: str | None = None,
        status: int = 401,
        error: str = "unauthorized",
        method: str = "POST",
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """A failed authentication outside the scheme chain (which records its own):
        OAuth client authentication, the key/secret and refresh-token exchanges.

        ``auth.failure`` as the middleware writes it, so one event name finds every
        failed authentication. ``reason`` is the error's internal reason (never a secret);
        ``detail`` adds identifiers such as the claimed ``client_id``.
        """
        return cls(
            "auth.failure",
            outcome="failure",
            scheme=scheme,
            client_ip=client_ip,
            detail={
                "status": status,
                "error": error,
                "reason": reason,
                "method": method,
                "path": path,
                **(detail or {}),
            },
        )

    @classmethod
    def refusal(
        cls, error: AuthError, scope: Mapping[str, Any], client_ip: str | None
    ) -> AuditRecord:
        """``auth.failure`` for a request an ASGI front refused with ``error``."""
        return cls.authentication_failure(
            scope.get("path", ""),
            reason=error.reason,
            client_ip=client_ip,
            status=error.status,
            error=error.code,
            method=scope.get("method", ""),
        )

    @classmethod
    def refresh_token_reuse(
        cls,
        path: str,
        *,
        family_id: str,
        user_id: str | None,
        client_id: str | None,
        credential_id: str | None,
        reason: str,
        client_ip: str | None,
    ) -> AuditRecord:
        """A used refresh token came back: its whole family was revoked (RFC 9700 §4.14.2).

        A security event: either the legitimate client or an attacker holds a stolen copy.
        """
        return cls(
            "token.refresh_reuse",
            outcome="failure",
            target_user_id=user_id,
            credential_id=credential_id,
            client_ip=client_ip,
            detail={
                "path": path,
                "family_id": family_id,
                "client_id": client_id,
                "reason": reason,
                "action": "family_revoked",
            },
        )

    @classmethod
    def lockout(
        cls,
        throttle: str,
        *,
        account: str,
        limit: str,
        retry_after: float,
        client_ip: str | None,
    ) -> AuditRecord:
        """Attempts for ``account`` are refused for ``retry_after`` seconds (a throttle tripped).

        Args:
            throttle: which throttle (``login`` for passwords, ``mfa`` for codes).
            account: the throttled account: a user name as typed (login) or a user id (mfa).
            limit: ``delay`` (consecutive failures), ``account`` (the account's cap) or
                ``source`` (the client IP's cap across accounts).
            retry_after: seconds until an attempt may be made again.
            client_ip: the trusted client IP of the refused attempt.
        """
        return cls(
            "auth.lockout",
            outcome="failure",
            client_ip=client_ip,
            detail={
                "throttle": throttle,
                "account": account,
                "limit": limit,
                "retry_after": round(retry_after, 1),
            },
        )

    def cleaned(self) -> dict[str, Any]:
        """Column values with every string sanitized."""
        return {
            "at": self.at,
            "event": sanitize(self.event),
            "outcome": sanitize(self.outcome),
            "actor_id": self.actor_id,
            "actor": sanitize(self.actor) if self.actor is not None else None,
            "target_user_id": self.target_user_id,
            "credential_id": self.credential_id,
            "scheme": sanitize(self.scheme) if self.scheme is not None else None,
            "client_ip": sanitize(self.client_ip) if self.client_ip is not None else None,
            "detail": _clean(self.detail),
        }
