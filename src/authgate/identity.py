"""Who is calling: the result of a successful authentication."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Identity"]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller.

    Attributes:
        subject: the principal's name (user name), as shown to humans and upstreams.
        principal_id: stable id of the principal (user id).
        scheme: the scheme that authenticated the request (``apikey``, ``basic``, ...).
        credential_id: id of the credential used (API key, key pair), or None for passwords.
        scopes: scopes granted to this request.
        roles: roles of the principal.
        claims: extra facts from the scheme (token claims, certificate fields).
        expires_at: Unix time after which the credential is no longer valid (key expiry,
            token ``exp``), or None; lets caches stop serving it on time.
    """

    subject: str
    principal_id: str
    scheme: str
    credential_id: str | None = None
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    expires_at: float | None = None

    def has_scopes(self, required: tuple[str, ...] | list[str]) -> bool:
        """True when every required scope is granted."""
        return set(required).issubset(self.scopes)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def as_json(self) -> dict[str, Any]:
        """The ``/v1/whoami`` contract shape."""
        return {
            "subject": self.subject,
            "principal_id": self.principal_id,
            "scheme": self.scheme,
            "credential_id": self.credential_id,
            "scopes": list(self.scopes),
            "roles": list(self.roles),
        }
