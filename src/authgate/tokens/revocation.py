"""A deny-list of revoked access tokens, by ``jti``, kept until the token would expire.

RFC 7519 §4.1.7 (``jti``), RFC 9068 §2.2 (``jti`` is required in access tokens), RFC 7009
(revocation), RFC 9700 §4.14.2 (a replayed refresh token revokes the access tokens of its
family). A self-contained JWT cannot be recalled, so every verification of an authgate
token asks :meth:`RevocationList.is_revoked` (one dict lookup, or one Redis ``EXISTS``).
An entry lives exactly as long as the token it denies: after ``exp`` the token is refused
anyway, so the list never grows beyond the tokens that are both revoked and unexpired.

:class:`RedisRevocationList` is shared by every instance (``SET key 1 PX <remaining ms>``)
and fails closed: when Redis cannot answer, verification is refused with a 503 rather than
letting a possibly revoked token through.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from redis.exceptions import RedisError

from authgate.cache.redis_replay import ReplayCacheUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_PREFIX",
    "MemoryRevocationList",
    "RedisRevocationList",
    "RevocationList",
    "RevocationUnavailable",
]

DEFAULT_PREFIX = "authgate:revoked:"
_MAX_JTI = 256
log = logging.getLogger("authgate.tokens")


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
        now = self._clock()
        if expires_at <= now:
            return
        self._entries[jti] = max(expires_at, self._entries.get(jti, 0.0))
        if len(self._entries) > self._max:
            self._entries = {k: v for k, v in self._entries.items() if v > now}

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now."""
        until = self._entries.get(jti)
        if until is None:
            return False
        if until <= self._clock():
            del self._entries[jti]
            return False
        return True


class RedisRevocationList:
    """The deny-list in Redis, shared by every instance.

    ``jti`` values are hashed (SHA-256) into the key name, so a token's contents never
    shape Redis key space.

    Args:
        redis: an asyncio Redis client (shared pool; never closed here).
        prefix: key prefix; instances of one deployment use the same one.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self.prefix = prefix
        self._clock = clock

    def _key(self, jti: str) -> str:
        return self.prefix + hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()

    async def revoke(self, jti: str, expires_at: float) -> None:
        """``SET`` the entry with ``PX`` = the token's remaining lifetime (rounded up).

        Raises:
            RevocationUnavailable: Redis did not answer; the revocation was not recorded.
        """
        remaining_ms = math.ceil((expires_at - self._clock()) * 1000)
        if remaining_ms <= 0:
            return
        try:
            await self._redis.set(self._key(jti), b"1", px=remaining_ms)
        except (RedisError, OSError) as exc:
            log.warning("revocation list unavailable: %s", type(exc).__name__)
            raise RevocationUnavailable(f"revocation list: {type(exc).__name__}") from exc

    async def is_revoked(self, jti: str) -> bool:
        """One ``EXISTS``.

        Raises:
            RevocationUnavailable: Redis did not answer (fail closed).
        """
        if len(jti) > _MAX_JTI:
            return True  # authgate never issues such a jti
        try:
            return bool(await self._redis.exists(self._key(jti)))
        except (RedisError, OSError) as exc:
            log.warning("revocation list unavailable: %s", type(exc).__name__)
            raise RevocationUnavailable(f"revocation list: {type(exc).__name__}") from exc
