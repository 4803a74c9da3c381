"""SQLAlchemy model of registered OAuth 2.0 clients (RFC 6749 §2, RFC 7591 §2 metadata).

A client has a public random ``client_id``; a confidential client's secret is stored only
as a keyed digest (HMAC-SHA256 under the server's digest key, see
:mod:`authgate.crypto.digest`): client secrets are high-entropy random strings, so a slow
hash would add nothing but cost (docs/oauth.md, Clients). ``private_key_jwt``
clients (RFC 7523 §2.2) register a public JWK Set instead of a secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["OAuthClientRecord"]


class OAuthClientRecord(Base):
    """One registered OAuth 2.0 client."""

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(128))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    secret_prefix: Mapped[str | None] = mapped_column(String(16))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    jwks: Mapped[dict[str, Any] | None]
    grants: Mapped[list[str]]
    redirect_uris: Mapped[list[str]]
    scopes: Mapped[list[str]]
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    secret_rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
