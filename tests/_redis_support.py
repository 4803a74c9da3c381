"""The test Redis (db 15): a reachable client, or a skip (a failure under ``CI=true``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from authgate.cache.redis_client import open_redis
from tests.conftest import REDIS_URL, service_unavailable


async def test_redis() -> aioredis.Redis:
    """A new client (its own pool, like another instance) after a successful PING."""
    client = open_redis(REDIS_URL, timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        service_unavailable("Redis", exc)
    return client


test_redis.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@asynccontextmanager
async def scoped_redis(prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client whose keys under ``prefix`` are deleted afterwards (only those)."""
    client = await test_redis()
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
