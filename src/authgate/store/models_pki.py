"""SQLAlchemy models for registered public keys and client certificates.

Neither table holds a secret: a public key or a certificate may be shown to anyone who
may see its owner. The ``algorithm`` of a public key is pinned at registration; a
certificate is matched by the SHA-256 thumbprint of its DER encoding (the value RFC 8705
§3.1 calls ``x5t#S256``, here in hex).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["PUBLIC_KEY_ALGORITHMS", "ClientCertificate", "PublicKey"]

#: The algorithms a public key may be registered for (RFC 9421 §3.3; RFC 5849 §3.4.3).
PUBLIC_KEY_ALGORITHMS: tuple[str, ...] = ("ed25519", "ecdsa-p256-sha256", "rsa-sha256")


class PublicKey(Base):
    """A public key a principal signs requests with (RFC 9421, OAuth 1.0a RSA-SHA256)."""

    __tablename__ = "public_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    public_key_pem: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ClientCertificate(Base):
    """An X.509 client certificate a principal authenticates with over mTLS."""

    __tablename__ = "certificates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    thumbprint_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    subject: Mapped[str] = mapped_column(Text)
    san: Mapped[list[str]]
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
