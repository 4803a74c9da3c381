"""Timestamps: RFC 3339 in UTC with a ``Z`` on the wire; aware UTC datetimes in the store."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc", "utc_datetime"]


def iso_utc(value: datetime | None) -> str | None:
    """``2026-11-21T12:00:00.123456Z`` for an aware datetime; None for None."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def utc_datetime(ts: float) -> datetime:
    """The aware UTC datetime of ``ts`` seconds since the epoch (what the store holds)."""
    return datetime.fromtimestamp(ts, UTC)
