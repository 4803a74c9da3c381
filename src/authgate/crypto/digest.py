"""Keyed digests of high-entropy secrets (API keys, key-pair keys, cache keys).

A slow hash adds nothing for ≥ 160-bit random secrets; HMAC-SHA256 under a server
secret means a stolen database alone cannot even confirm a guessed key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

__all__ = ["Digester"]


class Digester:
    """HMAC-SHA256 under the server's digest key; hex output for database columns."""

    __slots__ = ("_bases", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the digest key must be at least 32 bytes")
        self._key = key
        # HMAC state after key and purpose prefix, copied per call: this is the hot path
        # of every API-key check, and copying skips re-deriving the padded keys.
        self._bases: dict[str, Any] = {}

    def digest(self, value: str, *, purpose: str = "key") -> str:
        """Hex HMAC of ``purpose`` + NUL + ``value`` (domain-separated by purpose)."""
        base = self._bases.get(purpose)
        if base is None:
            base = hmac.new(self._key, purpose.encode() + b"\0", hashlib.sha256)
            self._bases[purpose] = base
        h = base.copy()
        # surrogatepass: any str digests (lone surrogates from JSON included), never raises
        h.update(value.encode("utf-8", "surrogatepass"))
        return str(h.hexdigest())

    def __repr__(self) -> str:
        return "Digester(key=***)"
