"""The ``jti`` deny-list in Redis, shared by every instance (see :mod:`authgate.tokens.revocation`).

Kept apart from the port so that the base install (no ``redis`` extra) never imports redis.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from authgate.tokens.revocation import RevocationUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisRevocationList"]

DEFAULT_PREFIX = "authgate:revoked:"
_MAX_JTI = 256
log = logging.getLogger("authgate.tokens")


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
