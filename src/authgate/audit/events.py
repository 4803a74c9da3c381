"""Audit records: what happened, to whom, by whom, from where — never a secret.

Values that come from requests (names, paths, reasons) have control characters escaped
so a hostile value cannot forge log lines or terminal escapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
