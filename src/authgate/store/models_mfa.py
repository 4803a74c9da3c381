"""SQLAlchemy models for multi-factor authentication (RFC 6238 TOTP, recovery codes).

The TOTP secret must be recomputed on every check, so it is sealed (AES-GCM under the
master key ring, the factor id as associated data; :mod:`authgate.crypto.sealing`), never
stored in clear. ``last_used_step`` is the RFC 6238 time step of the last accepted code:
a code from that step or an earlier one is refused (RFC 6238 §5.2). Recovery codes are
stored as keyed digests only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["RecoveryCode", "TotpFactor"]


class TotpFactor(Base):
    """A user's TOTP authenticator; at most one per user, usable once confirmed."""

    __tablename__ = "totp_factors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), unique=True, index=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(8))
    digits: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None]
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class RecoveryCode(Base):
    """One single-use recovery code, as its keyed digest."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    used_at: Mapped[datetime | None]
