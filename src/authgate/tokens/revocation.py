"""A deny-list of revoked access tokens, by ``jti``, kept until the token would expire.

RFC 7519 §4.1.7 (``jti``), RFC 9068 §2.2 (``jti`` is required in access tokens), RFC 7009
(revocation), RFC 9700 §4.14.2 (a replayed refresh token revokes the access tokens of its
family). A self-contained JWT cannot be recalled, so every verification of an authgate
token asks :meth:`RevocationList.is_revoked` (one dict lookup, or one Redis ``EXISTS``).
An entry lives exactly as long as the token it denies: after ``exp`` the token is refused
anyway, so the list never grows beyond the tokens that are both revoked and unexpired.

:class:`~authgate.tokens.redis_revocation.RedisRevocationList` is shared by every
instance (``SET key 1 PX <remaining ms>``) and fails closed: when Redis cannot answer,
verification is refused with a 503 rather than letting a possibly revoked token through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from authgate.replay import ReplayCacheUnavailable

__all__ = [
    "MemoryRevocationList",
    "RevocationList",
    "RevocationUnavailable",
]


class RevocationUnavailable(ReplayCacheUnavailable):
    """The shared deny-list could not answer: the token is refused (503, fail closed)."""


@runtime_checkable
class RevocationList(Protocol):
    """The port verifiers ask whether a token was revoked."""

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Deny ``jti`` until ``expires_at`` (seconds since the epoch)."""
        ...

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now."""
        ...


class MemoryRevocationList:
    """One instance's deny-list (dict of ``jti`` → expiry, pruned as it grows).

    Args:
        clock: returns the current time in seconds since the epoch.
        max_entries: beyond this, expired entries are pruned; if none are, the oldest
            entries are kept anyway (a deny-list must not forget a live revocation).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, max_entries: int = 100_000):
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Deny ``jti`` until ``expires_at``; an already expired token needs no entry."""
        self.add(jti, expires_at)

    def add(self, jti: str, expires_at: float) -> None:
        """:meth:`revoke` from synchronous code (the change feed)."""
        now = self._clock()
        if expires_at <= now:
            return
        self._entries[jti] = max(expires_at, self._entries.get(jti, 0.0))
        if len(self._entries) > self._max:
            self._entries = {k: v for k, v in self._entries.items() if v > now}

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now."""
        return self.denies(jti)

    def denies(self, jti: str) -> bool:
        """:meth:`is_revoked` without the coroutine (for wrappers on the hot path)."""
        until = self._entries.get(jti)
        if until is None:
            return False
        if until <= self._clock():
            del self._entries[jti]
            return False
        return True
