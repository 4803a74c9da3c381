"""Durations as people write them: ``90s``, ``15m``, ``24h``, ``30d`` (and ``0``)."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["MAX_DURATION_SECONDS", "format_duration", "parse_duration"]

#: The longest duration accepted anywhere (100 years): a lifetime or grace period beyond
#: it means nothing, and a much longer one overflows the dates it is added to.
MAX_DURATION_SECONDS = 100 * 365 * 86400

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RE = re.compile(r"([0-9]{1,9})([smhd])")


def parse_duration(text: str) -> timedelta:
    """Parse ``<n><unit>`` (units s, m, h, d) or ``0``; raise ValueError otherwise.

    Raises:
        ValueError: not a duration, or longer than :data:`MAX_DURATION_SECONDS`.
    """
    value = text.strip()
    if value == "0":
        return timedelta(0)
    m = _RE.fullmatch(value)
    if not m:
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit, e.g. 90s, 15m, 24h, 30d"
        )
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"invalid duration {text!r}: longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
