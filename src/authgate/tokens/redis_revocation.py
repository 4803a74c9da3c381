"""The ``jti`` deny-list in Redis, shared by every instance (see :mod:`authgate.tokens.revocation`).

``SET key 1 PX <remaining ms>`` per revocation, one ``GET`` per check
(:class:`~authgate.kv.redis_store.RedisStore`). Kept apart from the port so that the base
install (no ``redis`` extra) never imports redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from authgate.kv.redis_store import RedisStore
from authgate.kv.store import hashed
from authgate.tokens.revocation import DenyList, RevocationUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisRevocationList"]

DEFAULT_PREFIX = "authgate:revoked:"


class RedisRevocationList(DenyList):
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
        store = RedisStore(
            redis, prefix=prefix, unavailable=RevocationUnavailable, name="revocation list"
        )
        super().__init__(store, hashed, clock=clock)
        self.prefix = prefix
