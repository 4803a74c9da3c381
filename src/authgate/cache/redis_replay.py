"""Replay protection shared across instances: nonces in Redis.

Implements :class:`~authgate.replay.ReplayCache` with one atomic command,
``SET key 1 NX PX ttl_ms``: the first instance to store a nonce wins, every other
``check_and_store`` of the same nonce — on any instance sharing the Redis database —
sees a replay until the TTL lapses (RFC 9421 §7.2.2, RFC 5849 §3.3, the HMAC scheme's
nonce window).

Nonces are client-chosen bytes, so they are hashed (SHA-256) before they become key
names: no client input reaches Redis key space, key length is fixed, and nothing the
client sends can collide with another prefix.

Failure mode: **closed**. When Redis cannot answer (down, timeout, refused, auth error),
``check_and_store`` raises :class:`ReplayCacheUnavailable` — an
:class:`~authgate.errors.AuthError` with status 503 — so the middleware refuses the
request with the uniform error body and audits it; a signed request is never accepted
without its nonce having been recorded. (Returning False would also refuse, but as a
misleading 401 "replay".) Give the client a ``socket_timeout`` so a hung Redis refuses
requests quickly instead of holding them.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from authgate.replay import ReplayCacheUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisReplayCache", "ReplayCacheUnavailable"]

DEFAULT_PREFIX = "authgate:nonce:"
log = logging.getLogger("authgate.cache")


def nonce_key(prefix: str, nonce: str) -> str:
    """The Redis key for ``nonce``: ``prefix`` + hex SHA-256 of its UTF-8 bytes."""
    digest = hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).hexdigest()
    return prefix + digest


class RedisReplayCache:
    """:class:`~authgate.replay.ReplayCache` on Redis, shared by every instance.

    Args:
        redis: an asyncio Redis client (its connection pool is shared; this class never
            closes it).
        prefix: key prefix; instances that must see each other's nonces use the same one.
    """

    def __init__(self, redis: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self.prefix = prefix

    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        """Store ``nonce`` for ``ttl`` seconds; True if it was new, False if a replay.

        Raises:
            ReplayCacheUnavailable: Redis did not answer; the request must be refused.
        """
        # PX takes whole, positive milliseconds; round up so a nonce never expires early.
        ttl_ms = max(1, math.ceil(ttl * 1000))
        try:
            stored = await self._redis.set(nonce_key(self.prefix, nonce), b"1", nx=True, px=ttl_ms)
        except (RedisError, OSError) as exc:
            # never log the nonce: it is client input and part of a signature
            log.warning("replay cache unavailable: %s", type(exc).__name__)
            raise ReplayCacheUnavailable(f"replay cache unavailable: {type(exc).__name__}") from exc
        return bool(stored)
