"""Timestamps on the wire: RFC 3339 in UTC with a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc"]


def iso_utc(value: datetime | None) -> str | None:
    """``2026-11-21T12:00:00.123456Z`` for an aware datetime; None for None."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
