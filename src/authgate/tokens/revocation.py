"""A deny-list of revoked access tokens, by ``jti``, kept until the token would expire.

RFC 7519 §4.1.7 (``jti``), RFC 9068 §2.2 (``jti`` is required in access tokens), RFC 7009
(revocation), RFC 9700 §4.14.2 (a replayed refresh token revokes the access tokens of its
family). A self-contained JWT cannot be recalled, so every verification of an authgate
token asks :meth:`RevocationList.is_revoked` (one dict lookup, or one Redis ``GET``).
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

from authgate.kv.memory import MemoryStore
from authgate.kv.store import ExpiringStore
from authgate.replay import ReplayCacheUnavailable

__all__ = [
    "DenyList",
    "MemoryRevocationList",
    "RevocationList",
    "RevocationUnavailable",
]

_MAX_JTI = 256


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


class DenyList:
    """:class:`RevocationList` on an expiring store: one key per denied ``jti``.

    Args:
        store: where the entries live (its TTLs are the tokens' remaining lifetimes).
        key: the store key of a ``jti`` (the Redis store hashes it).
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        store: ExpiringStore,
        key: Callable[[str], str] = str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Deny ``jti`` for the token's remaining lifetime; an expired token needs no entry.

        Raises:
            RevocationUnavailable: the store did not answer; the revocation was not recorded.
        """
        remaining = expires_at - self._clock()
        if remaining > 0:  # the store rounds up to whole milliseconds
            await self._store.set(self._key(jti), b"1", remaining)

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now.

        Raises:
            RevocationUnavailable: the store did not answer (fail closed).
        """
        if len(jti) > _MAX_JTI:
            return True  # authgate never issues such a jti
        return await self._store.get(self._key(jti)) is not None


class MemoryRevocationList(DenyList):
    """One instance's deny-list, pruned of expired entries as it grows.

    Args:
        clock: returns the current time in seconds since the epoch.
        max_entries: beyond this, expired entries are pruned; if none are, the entries
            are kept anyway (a deny-list must not forget a live revocation).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, max_entries: int = 100_000):
        self._memory = MemoryStore(clock, max_entries=max_entries)
        self._read = self._memory.read
        super().__init__(self._memory, clock=clock)

    def __len__(self) -> int:
        return len(self._memory)

    def add(self, jti: str, expires_at: float) -> None:
        """:meth:`revoke` from synchronous code (the change feed); the later expiry wins."""
        remaining = expires_at - self._clock()
        until = self._memory.expiry(jti)
        if remaining > 0 and (until is None or until < expires_at):
            self._memory.write(jti, b"1", remaining)

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Deny ``jti`` until ``expires_at``; an already expired token needs no entry."""
        self.add(jti, expires_at)

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now (no store coroutine: this is the hot path)."""
        return self._read(jti) is not None

    def denies(self, jti: str) -> bool:
        """:meth:`is_revoked` without the coroutine (for wrappers on the hot path)."""
        return self._read(jti) is not None
