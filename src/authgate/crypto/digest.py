"""Keyed digests of high-entropy secrets (API keys, key-pair keys, cache keys).

A slow hash adds nothing for ≥ 160-bit random secrets; HMAC-SHA256 under a server
secret means a stolen database alone cannot even confirm a guessed key.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["Digester"]


class Digester:
    """HMAC-SHA256 under the server's digest key; hex output for database columns."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the digest key must be at least 32 bytes")
        self._key = key

    def digest(self, value: str, *, purpose: str = "key") -> str:
        """Hex HMAC of ``purpose`` + NUL + ``value`` (domain-separated by purpose)."""
        msg = purpose.encode() + b"\0" + value.encode("utf-8", "surrogateescape")
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "Digester(key=***)"
