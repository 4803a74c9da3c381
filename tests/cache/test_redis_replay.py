"""RedisReplayCache against the real Redis: atomic, shared across instances, fails closed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from tests._redis_support import scoped_redis, test_redis

from authgate.cache.redis_client import open_redis
from authgate.cache.redis_replay import (
    DEFAULT_PREFIX,
    RedisReplayCache,
    ReplayCacheUnavailable,
    nonce_key,
)
from authgate.crypto.secret import Secret
from authgate.errors import AuthError, InvalidCredentials, render
from authgate.identity import Identity
from authgate.replay import ReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.hmac_simple import HmacSimpleAuthenticator, canonical_string

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> str:
    return f"authgate:test:{uuid.uuid4().hex}:nonce:"


@pytest.fixture
async def redis_client(prefix: str) -> AsyncIterator[aioredis.Redis]:
    async with scoped_redis(prefix) as client:
        yield client


@pytest.fixture
async def cache(redis_client: aioredis.Redis, prefix: str) -> RedisReplayCache:
    return RedisReplayCache(redis_client, prefix=prefix)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_satisfies_the_port() -> None:
    def takes(port: ReplayCache) -> ReplayCache:
        return port

    assert takes(RedisReplayCache(aioredis.Redis())) is not None
    assert RedisReplayCache(aioredis.Redis()).prefix == DEFAULT_PREFIX == "authgate:nonce:"


async def test_new_then_replay(cache: RedisReplayCache) -> None:
    assert await cache.check_and_store("nonce-1", 30) is True
    assert await cache.check_and_store("nonce-1", 30) is False
    assert await cache.check_and_store("nonce-1", 30) is False
    assert await cache.check_and_store("nonce-2", 30) is True


async def test_keys_are_sha256_of_the_nonce_never_the_nonce(
    cache: RedisReplayCache, redis_client: aioredis.Redis, prefix: str
) -> None:
    hostile = "a b\r\n*\x00{tag}:" + "é" * 50 + "\ud800"
    assert await cache.check_and_store(hostile, 30) is True
    assert await cache.check_and_store(hostile, 30) is False
    keys = [k async for k in redis_client.scan_iter(match=prefix + "*")]
    digest = hashlib.sha256(hostile.encode("utf-8", "surrogatepass")).hexdigest()
    assert keys == [(prefix + digest).encode()]
    assert nonce_key(prefix, hostile) == prefix + digest
    assert b"tag" not in keys[0]


async def test_ttl_is_set_in_milliseconds_rounded_up(
    cache: RedisReplayCache, redis_client: aioredis.Redis, prefix: str
) -> None:
    await cache.check_and_store("n-ttl", 12.3456)
    pttl = await redis_client.pttl(nonce_key(prefix, "n-ttl"))
    assert 12_000 < pttl <= 12_346
    await cache.check_and_store("n-tiny", 0)  # never a PX of 0 (Redis refuses it)
    assert await redis_client.pttl(nonce_key(prefix, "n-tiny")) in (-2, 0, 1)


async def test_expiry(cache: RedisReplayCache) -> None:
    assert await cache.check_and_store("short-lived", 0.15) is True
    assert await cache.check_and_store("short-lived", 0.15) is False
    await asyncio.sleep(0.3)
    assert await cache.check_and_store("short-lived", 0.15) is True


async def test_two_instances_share_nonces(redis_client: aioredis.Redis, prefix: str) -> None:
    other = await test_redis()  # a second connection pool, as on another instance
    try:
        first = RedisReplayCache(redis_client, prefix=prefix)
        second = RedisReplayCache(other, prefix=prefix)
        assert await first.check_and_store("shared", 30) is True
        assert await second.check_and_store("shared", 30) is False
        assert await second.check_and_store("seen-on-second", 30) is True
        assert await first.check_and_store("seen-on-second", 30) is False
        # another prefix (another deployment) is another namespace
        third = RedisReplayCache(other, prefix=prefix + "other:")
        assert await third.check_and_store("shared", 30) is True
    finally:
        await other.aclose()


async def test_concurrent_same_nonce_exactly_one_wins(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    other = await test_redis()
    try:
        caches = [RedisReplayCache(c, prefix=prefix) for c in (redis_client, other)]
        results = await asyncio.gather(
            *(caches[i % 2].check_and_store("raced", 30) for i in range(100))
        )
        assert results.count(True) == 1
        assert results.count(False) == 99
    finally:
        await other.aclose()


async def test_redis_down_fails_closed() -> None:
    down = open_redis(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5)
    cache = RedisReplayCache(down)
    try:
        started = time.monotonic()
        with pytest.raises(ReplayCacheUnavailable) as info:
            await cache.check_and_store("nonce-while-down", 30)
        assert time.monotonic() - started < 2  # open_redis: no backoff between retries
    finally:
        await down.aclose()
    error = info.value
    assert isinstance(error, AuthError)
    status, headers, body = render(error)
    assert status == 503
    assert ("retry-after", "1") in headers
    assert body == (
        b'{"error":"temporarily_unavailable",'
        b'"error_description":"The service is temporarily unavailable."}'
    )
    assert "nonce-while-down" not in error.reason


async def test_redis_down_fails_closed_with_a_default_client_too() -> None:
    down = aioredis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
    try:
        with pytest.raises(ReplayCacheUnavailable):
            await RedisReplayCache(down).check_and_store("nonce-while-down", 30)
    finally:
        await down.aclose()


async def test_hung_redis_times_out_and_fails_closed() -> None:
    # accepts connections (kernel backlog) but never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hung = open_redis(f"redis://127.0.0.1:{port}/0", timeout=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(ReplayCacheUnavailable):
                await RedisReplayCache(hung).check_and_store("nonce-while-hung", 30)
            assert time.monotonic() - started < 3
        finally:
            await hung.aclose()


# -- through a scheme: the HMAC scheme refuses replays across instances, and refuses all
#    signed requests while Redis is down ------------------------------------------------

NOW = 1_700_000_000
KEY, SECRET = "ag_kp_redis", "redis-secret-0123456789abcdef0123456789abcdef"
OWNER = Identity(subject="bob", principal_id="u-2", scheme="?", credential_id="kp-2")


class _Pairs:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), OWNER) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


def _signed(nonce: str) -> RequestView:
    signed = ["host", "x-authgate-date", "x-authgate-nonce"]
    headers = {"host": "api.example.com", "x-authgate-date": str(NOW), "x-authgate-nonce": nonce}
    view = RequestView(
        method="GET",
        scheme="https",
        authority="api.example.com",
        path="/v1/things",
        query="",
        headers=Headers(headers.items()),
        body=b"",
    )
    sig = hmac.new(
        SECRET.encode(), canonical_string(view, signed).encode(), hashlib.sha256
    ).hexdigest()
    auth = f"HMAC-SHA256 Credential={KEY}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    view.headers = Headers([("authorization", auth), *headers.items()])
    return view


async def test_signed_request_replayed_on_another_instance_is_refused(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    other = await test_redis()
    try:
        one = HmacSimpleAuthenticator(
            _Pairs(), RedisReplayCache(redis_client, prefix=prefix), clock=lambda: NOW
        )
        two = HmacSimpleAuthenticator(
            _Pairs(), RedisReplayCache(other, prefix=prefix), clock=lambda: NOW
        )
        request = _signed(f"nonce-{uuid.uuid4().hex[:16]}")
        assert (await one.authenticate(request)).subject == "bob"
        with pytest.raises(InvalidCredentials):
            await two.authenticate(request)
    finally:
        await other.aclose()


async def test_signed_request_refused_while_redis_is_down() -> None:
    down = open_redis(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5)
    try:
        scheme = HmacSimpleAuthenticator(_Pairs(), RedisReplayCache(down), clock=lambda: NOW)
        with pytest.raises(ReplayCacheUnavailable):
            await scheme.authenticate(_signed("nonce-redis-down-1"))
    finally:
        await down.aclose()
