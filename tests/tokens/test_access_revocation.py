"""The jti deny-list: memory and real Redis (two instances sharing it), TTL = remaining
lifetime, fail closed when Redis is down."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from tests._redis_support import test_redis
from tests.conftest import REDIS_URL

from authgate.cache.redis_client import open_redis
from authgate.cache.redis_revocation import RedisRevocationList
from authgate.errors import render
from authgate.tokens.revocation import (
    MemoryRevocationList,
    RevocationList,
    RevocationUnavailable,
)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_both_satisfy_the_port() -> None:
    client = open_redis("redis://127.0.0.1:1/0")
    assert isinstance(MemoryRevocationList(), RevocationList)
    assert isinstance(RedisRevocationList(client), RevocationList)
    await client.aclose()


async def test_memory_deny_list_expires_with_the_token() -> None:
    clock = Clock()
    denied = MemoryRevocationList(clock=clock)
    await denied.revoke("a", clock.now + 10)
    await denied.revoke("gone", clock.now - 1)  # already expired: nothing to remember
    assert await denied.is_revoked("a") and not await denied.is_revoked("b")
    assert len(denied) == 1
    clock.now += 10
    assert not await denied.is_revoked("a") and len(denied) == 0


async def test_memory_deny_list_prunes_only_expired_entries() -> None:
    clock = Clock()
    denied = MemoryRevocationList(clock=clock, max_entries=10)
    for i in range(10):
        await denied.revoke(f"short-{i}", clock.now + 1)
    await denied.revoke("long", clock.now + 100)
    clock.now += 2
    await denied.revoke("new", clock.now + 100)
    assert len(denied) == 2
    assert await denied.is_revoked("long") and await denied.is_revoked("new")
    # live entries are never dropped, even past the soft limit
    for i in range(20):
        await denied.revoke(f"live-{i}", clock.now + 100)
    assert all([await denied.is_revoked(f"live-{i}") for i in range(20)])


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = await test_redis()
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_two_instances_share_the_deny_list(redis_client: aioredis.Redis) -> None:
    prefix = f"authgate:test:{uuid.uuid4().hex}:revoked:"
    other = open_redis(REDIS_URL, timeout=2)  # a second instance: its own connection pool
    try:
        a = RedisRevocationList(redis_client, prefix=prefix)
        b = RedisRevocationList(other, prefix=prefix)
        jti = uuid.uuid4().hex
        assert not await b.is_revoked(jti)
        await a.revoke(jti, time.time() + 60)
        assert await b.is_revoked(jti)
        assert not await b.is_revoked(jti + "x")
    finally:
        await other.aclose()


@pytest.mark.redis
async def test_redis_entry_lives_exactly_the_remaining_lifetime(
    redis_client: aioredis.Redis,
) -> None:
    prefix = f"authgate:test:{uuid.uuid4().hex}:revoked:"
    clock = Clock()
    denied = RedisRevocationList(redis_client, prefix=prefix, clock=clock)
    await denied.revoke("jti-1", clock.now + 1.2345)
    key = prefix + hashlib.sha256(b"jti-1").hexdigest()
    assert await redis_client.exists(key)  # hashed: the jti itself is not a key name
    assert not await redis_client.exists(prefix + "jti-1")
    assert 1200 <= await redis_client.pttl(key) <= 1235
    await denied.revoke("jti-2", clock.now - 5)  # expired token: nothing stored
    assert not await redis_client.exists(prefix + hashlib.sha256(b"jti-2").hexdigest())
    assert await denied.is_revoked("x" * 300)  # never issued by authgate: refused


@pytest.mark.redis
async def test_redis_entry_vanishes_after_expiry(redis_client: aioredis.Redis) -> None:
    prefix = f"authgate:test:{uuid.uuid4().hex}:revoked:"
    denied = RedisRevocationList(redis_client, prefix=prefix)
    await denied.revoke("short", time.time() + 0.05)
    assert await denied.is_revoked("short")
    deadline = time.time() + 2
    while await denied.is_revoked("short") and time.time() < deadline:
        await redis_client.ping()
    assert not await denied.is_revoked("short")


async def test_redis_down_fails_closed() -> None:
    dead = open_redis("redis://127.0.0.1:1/0", timeout=0.2, retries=0)
    try:
        denied = RedisRevocationList(dead)
        with pytest.raises(RevocationUnavailable) as caught:
            await denied.is_revoked("any")
        status, headers, body = render(caught.value)
        assert status == 503 and b"127.0.0.1" not in body
        assert ("retry-after", "1") in headers
        with pytest.raises(RevocationUnavailable):
            await denied.revoke("any", time.time() + 60)
    finally:
        await dead.aclose()
