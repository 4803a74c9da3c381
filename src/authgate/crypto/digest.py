"""Keyed digests of high-entropy secrets (API keys, key-pair keys, cache keys).

A slow hash adds nothing for ≥ 160-bit random secrets; HMAC-SHA256 under a server
secret means a stolen database alone cannot even confirm a guessed key.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol

__all__ = ["Digester"]


class _Mac(Protocol):
    def copy(self) -> _Mac: ...
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def _hmac_sha256(key: bytes, prefix: bytes) -> _Mac:
    # OpenSSL's HMAC object directly: copy/update/hexdigest stay in C. This is the hot
    # path of every API-key check; hmac.HMAC wraps the same object in Python calls.
    try:
        import _hashlib

        mac: _Mac = _hashlib.hmac_new(key, prefix, digestmod="sha256")
        return mac
    except (ImportError, ValueError):  # a Python built without OpenSSL's HMAC
        return hmac.new(key, prefix, hashlib.sha256)


class Digester:
    """HMAC-SHA256 under the server's digest key; hex output for database columns."""

    __slots__ = ("_bases", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the digest key must be at least 32 bytes")
        self._key = key
        # HMAC state after key and purpose prefix, copied per call, so the padded keys
        # are derived once per purpose instead of on every request.
        self._bases: dict[bytes, Any] = {}

    def digest(self, value: str, *, purpose: str = "key") -> str:
        """Hex HMAC of ``purpose`` + NUL + ``value`` (domain-separated by purpose)."""
        # surrogatepass: any str digests (lone surrogates from JSON included), never raises
        return self.digest_bytes(value.encode("utf-8", "surrogatepass"), purpose=purpose.encode())

    def digest_bytes(self, value: bytes, *, purpose: bytes) -> str:
        """As :meth:`digest`, for raw bytes (header values as they arrived)."""
        base = self._bases.get(purpose)
        if base is None:
            base = self._bases[purpose] = _hmac_sha256(self._key, purpose + b"\0")
        h = base.copy()
        h.update(value)
        return str(h.hexdigest())

    def __repr__(self) -> str:
        return "Digester(key=***)"
