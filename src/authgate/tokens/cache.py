"""A bounded cache of verified access tokens (RFC 7519 §4.1.4-§4.1.5 re-checked on each hit).

Verifying a JWT signature costs tens of microseconds; a client sends the same token on
every call until it expires. The cache maps a SHA-256 digest of the token (the token itself
is never kept as a key) to the Identity it verified as. An entry lives until
``min(exp, verified_at + ttl)``; every hit re-checks ``exp`` and ``nbf`` against the injected
clock with the issuer's leeway, so a cached token can never outlive its validity. Only
tokens that verified are stored: a failure is never cached as valid. The ``ttl`` bounds how
long a token keeps working after its signing key disappears from the issuer's JWKS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from authgate.identity import Identity
from authgate.kv.ttl_cache import TtlCache

__all__ = ["CachedToken", "VerifiedTokenCache"]


@dataclass(frozen=True, slots=True)
class CachedToken:
    """A verified token's outcome and the times that bound its reuse.

    Attributes:
        identity: the Identity the token verified as.
        exp: the token's ``exp`` (None when the issuer does not require one).
        nbf: the token's ``nbf`` or None.
        leeway: the issuer's clock leeway in seconds.
        valid_until: the time after which the entry is dropped.
    """

    identity: Identity
    exp: float | None
    nbf: float | None
    leeway: float
    valid_until: float


class VerifiedTokenCache:
    """Bounded map from token digest to :class:`CachedToken`.

    Args:
        max_entries: the most tokens remembered; the oldest go first
            (:class:`~authgate.kv.ttl_cache.TtlCache`).
        ttl: the longest an entry is trusted without re-verification, in seconds.
    """

    __slots__ = ("_entries",)

    def __init__(self, max_entries: int = 10_000, ttl: float = 300.0) -> None:
        if max_entries < 1 or ttl <= 0:
            raise ValueError("max_entries and ttl must be positive")
        self._entries: TtlCache[bytes, CachedToken] = TtlCache(ttl, max_entries)

    @property
    def max_entries(self) -> int:
        return self._entries.max_entries

    @property
    def ttl(self) -> float:
        return self._entries.ttl

    @staticmethod
    def digest(token: str) -> bytes:
        """The cache key of a token."""
        return hashlib.sha256(token.encode("latin-1")).digest()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, now: float) -> Identity | None:
        """The cached Identity for ``token`` if it is still valid at ``now``, else None."""
        key = self.digest(token)
        entry = self._entries.get_at(key, now)
        if entry is None:
            return None
        if (entry.exp is not None and now >= entry.exp + entry.leeway) or (
            entry.nbf is not None and now + entry.leeway < entry.nbf
        ):
            # Expired (or a clock that went backwards before nbf): verify afresh.
            self._entries.pop(key)
            return None
        return entry.identity

    def put(
        self,
        token: str,
        identity: Identity,
        *,
        now: float,
        exp: float | None,
        nbf: float | None,
        leeway: float,
    ) -> None:
        """Remember a token that has just verified."""
        valid_until = now + self.ttl
        if exp is not None:
            valid_until = min(valid_until, exp + leeway)
        if valid_until <= now:
            return
        entry = CachedToken(identity, exp, nbf, leeway, valid_until)
        self._entries.put(self.digest(token), entry, until=valid_until, now=now)

    def clear(self) -> None:
        """Forget every token (e.g. after an issuer's keys were revoked)."""
        self._entries.clear()
