"""SQLAlchemy models for authgate's own tokens: signing keys and refresh tokens.

``signing_keys`` holds the JWS signing key ring (RFC 7517 keys, RFC 7515 signatures):
private keys are sealed (AES-GCM under the master key ring, the ``kid`` bound as
associated data), public keys are kept as their JWK for the JWK Set. ``refresh_tokens``
holds opaque refresh tokens (RFC 6749 §6) as keyed digests only, grouped in rotation
families (RFC 9700 §4.14.2): every row remembers the access token issued with it
(``access_jti``) so a detected replay can revoke those too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["SIGNING_KEY_STATES", "RefreshTokenRecord", "SigningKeyRecord"]

#: Life cycle of a signing key: published before it signs, published after it stops.
SIGNING_KEY_STATES: tuple[str, ...] = ("next", "active", "retired")


class SigningKeyRecord(Base):
    """One JWS signing key (RFC 7515), its private part sealed at rest."""

    __tablename__ = "signing_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the JWK ``kid``
    algorithm: Mapped[str] = mapped_column(String(16), index=True)
    private_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]  # when it starts (or started) signing
    retired_at: Mapped[datetime | None]  # when it stops (or stopped) signing
    expires_at: Mapped[datetime | None]  # when it may leave the JWK Set


class RefreshTokenRecord(Base):
    """One refresh token (digest only) in a rotation family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    absolute_expires_at: Mapped[datetime]
    auth_time: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    replaced_by: Mapped[str | None] = mapped_column(String(32))
    access_jti: Mapped[str | None] = mapped_column(String(64))
    access_expires_at: Mapped[datetime | None]
