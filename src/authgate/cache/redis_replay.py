"""Replay protection shared across instances: nonces in Redis (see :mod:`authgate.replay`).

One atomic command per nonce, ``SET key 1 NX PX ttl_ms``
(:class:`~authgate.kv.redis_store.RedisStore`). Nonces are client-chosen bytes, so they
are hashed (SHA-256) before they become key names: key length is fixed, and nothing the
client sends can collide with another prefix.

Failure mode: **closed**. When Redis cannot answer, ``check_and_store`` raises
:class:`~authgate.replay.ReplayCacheUnavailable` (503), so the middleware refuses the
request with the uniform error body and audits it. (Returning False would also refuse,
but as a misleading 401 "replay".)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authgate.kv.redis_store import RedisStore
from authgate.kv.store import hashed
from authgate.replay import NonceStore, ReplayCacheUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisReplayCache", "ReplayCacheUnavailable"]

DEFAULT_PREFIX = "authgate:nonce:"


def nonce_key(prefix: str, nonce: str) -> str:
    """The Redis key for ``nonce``: ``prefix`` + hex SHA-256 of its UTF-8 bytes."""
    return prefix + hashed(nonce)


class RedisReplayCache(NonceStore):
    """:class:`~authgate.replay.ReplayCache` on Redis, shared by every instance.

    Args:
        redis: an asyncio Redis client (its connection pool is shared; this class never
            closes it).
        prefix: key prefix; instances that must see each other's nonces use the same one.
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        store = RedisStore(
            redis, prefix=prefix, unavailable=ReplayCacheUnavailable, name="replay cache"
        )
        super().__init__(store, hashed)
        self.prefix = prefix
