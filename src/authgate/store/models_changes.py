"""SQLAlchemy models of the revocation feed: ``changes`` and ``revoked_tokens``.

``changes`` is an append-only log of revocations (a key revoked or its rotation grace
ending, a user disabled, a client deleted, an access token revoked), written in the
transaction of the change itself; every server polls it (``id > last``) and rebuilds its
deny-lists from it at start-up. ``revoked_tokens`` holds revoked access-token ``jti``
values until the token would expire. See :mod:`authgate.tokens.changes`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["ChangeRecord", "RevokedTokenRecord"]


class ChangeRecord(Base):
    """One revocation: ``kind`` of ``subject``, effective from ``at``."""

    __tablename__ = "changes"
    # ids are never reused, even after the newest rows are purged (SQLite AUTOINCREMENT)
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's shape

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(index=True)


class RevokedTokenRecord(Base):
    """A revoked access token's ``jti``, kept until the token expires."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
