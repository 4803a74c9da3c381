"""SQLAlchemy model of OAuth 2.0 device authorizations (RFC 8628 §3.1-§3.5).

One row per device authorization request. Neither code is stored in clear: the device
code (a high-entropy ``agd_`` secret) and the user code (8 characters, ~34.6 bits, RFC
8628 §6.1) are stored as keyed digests (HMAC-SHA256 under the server's digest key, see
:mod:`authgate.crypto.digest`) and looked up by digest, so a stolen database alone can
neither redeem a pending authorization nor approve one. The life cycle is one
``status`` column, moved only by conditional ``UPDATE`` statements:
``pending`` → ``approved`` | ``denied`` (by the user) → ``used`` (approved, redeemed
once at the token endpoint). ``interval`` is the polling interval in seconds, raised on
``slow_down`` (RFC 8628 §3.5).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.store.models import Base

__all__ = ["DEVICE_STATUSES", "DeviceCodeRecord"]

#: Life cycle of a device authorization.
DEVICE_STATUSES: tuple[str, ...] = ("pending", "approved", "denied", "used")


class DeviceCodeRecord(Base):
    """One device authorization: digests of its codes, its client, scopes and status."""

    __tablename__ = "device_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_code_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_code_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    auth_time: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
