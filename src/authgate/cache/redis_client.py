"""The Redis client for authgate's shared state (replay nonces, invalidation bus).

Defaults differ from redis-py's on purpose: the replay cache sits on the request path and
fails closed, so a dead or hung Redis must turn into a quick 503, not a request that
waits through several seconds of exponential-backoff retries. One immediate retry
covers a connection dropped by a Redis restart; ``health_check_interval`` makes the
long-lived pub/sub connection notice a silent network failure.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = ["open_redis"]


def open_redis(
    url: str, *, timeout: float = 1.0, retries: int = 1, health_check_interval: int = 15
) -> Redis:
    """A client for ``url`` (``redis://host:port/db``, ``rediss://`` for TLS).

    Args:
        url: the Redis URL (``AUTHGATE_REDIS_URL``).
        timeout: seconds to connect and to wait for each reply.
        retries: immediate retries after a connection error or timeout.
        health_check_interval: seconds of idleness after which a connection is pinged
            before use.

    Returns:
        A client with its own connection pool; close it with ``await client.aclose()``.
    """
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), retries),
        health_check_interval=health_check_interval,
    )
    return client
