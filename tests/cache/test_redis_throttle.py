"""RedisThrottleStore against the real Redis: shared, atomic across instances, fails closed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
from tests._redis_support import scoped_redis, test_redis
from tests.conftest import REDIS_URL

from authgate.cache.redis_client import open_redis
from authgate.cache.redis_throttle import DEFAULT_PREFIX, RedisThrottleStore, ThrottleUnavailable
from authgate.errors import AuthError, render
from authgate.mfa.throttle import (
    UNKNOWN_LANE,
    AccountState,
    Lane,
    LoginThrottle,
    SourceState,
    ThrottlePolicy,
    ThrottleStates,
    ThrottleStore,
)
from authgate.mfa.throttle_store import (
    decode_account,
    decode_source,
    encode_account,
    encode_source,
)

pytestmark = pytest.mark.redis

NOW = 1_700_000_000.0
#: Only the account cap matters: no delays, no per-IP cap, no reserve.
CAP10 = ThrottlePolicy(max_failures=10, known_reserve=0, free_failures=1000, ip_max_failures=1000)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def prefix() -> str:
    return f"authgate:test:{uuid.uuid4().hex}:throttle:"


@pytest.fixture
async def redis_client(prefix: str) -> AsyncIterator[aioredis.Redis]:
    async with scoped_redis(prefix) as client:
        yield client


@pytest.fixture
async def other_client(redis_client: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    """A second connection pool, as on another instance (keys flushed by redis_client)."""
    client = await test_redis()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def store(redis_client: aioredis.Redis, prefix: str) -> RedisThrottleStore:
    return RedisThrottleStore(redis_client, prefix=prefix)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


async def _keys(client: aioredis.Redis, prefix: str) -> list[bytes]:
    return sorted([k async for k in client.scan_iter(match=prefix + "*")])


def _account() -> AccountState:
    return AccountState(
        window_start=NOW - 12.25,
        failures=7,
        lanes={UNKNOWN_LANE: Lane(5, NOW - 0.1), "198.51.100.7": Lane(2, NOW - 1 / 3)},
        known={"198.51.100.7": NOW + 86400.5, "2001:db8::1": NOW + 0.000001},
    )


# -- the port, the documents, the keys ------------------------------------------------


def test_satisfies_the_port() -> None:
    def takes(port: ThrottleStore) -> ThrottleStore:
        return port

    assert takes(RedisThrottleStore(aioredis.Redis())) is not None
    assert RedisThrottleStore(aioredis.Redis()).prefix == DEFAULT_PREFIX == "authgate:throttle:"
    with pytest.raises(ValueError):
        RedisThrottleStore(aioredis.Redis(), lock_ttl=0)


def test_documents_round_trip_exactly() -> None:
    state = _account()
    assert decode_account(encode_account(state)) == state
    assert decode_account(encode_account(AccountState())) == AccountState()
    assert decode_source(encode_source(SourceState(NOW + 0.125, 42))) == SourceState(
        NOW + 0.125, 42
    )
    for bad in (b"", b"[]", b'{"v":2}', b'{"v":1,"w":1,"f":-1,"l":{},"k":{}}', b"\xff"):
        with pytest.raises(ValueError):
            decode_account(bad)


async def test_states_round_trip_through_redis(store: RedisThrottleStore) -> None:
    assert await store.load_account("alice") is None
    assert await store.load_source("198.51.100.7") is None
    await store.save_account("alice", _account(), 60)
    await store.save_source("198.51.100.7", SourceState(NOW, 3), 60)
    assert await store.load_account("alice") == _account()
    assert await store.load_source("198.51.100.7") == SourceState(NOW, 3)
    # accounts and sources are separate namespaces, even for one string
    assert await store.load_source("alice") is None


async def test_ttl_in_milliseconds_rounded_up(
    store: RedisThrottleStore, redis_client: aioredis.Redis
) -> None:
    await store.save_account("alice", _account(), 12.3456)
    await store.save_source("198.51.100.7", SourceState(NOW, 1), 0.0001)
    assert 12_000 < await redis_client.pttl(store.account_key("alice")) <= 12_346
    assert await redis_client.pttl(store.source_key("198.51.100.7")) in (-2, 0, 1)


async def test_throttle_sets_window_ttl_and_known_sources_ttl(
    store: RedisThrottleStore, redis_client: aioredis.Redis
) -> None:
    clock = Clock()
    throttle = LoginThrottle(store, clock)
    assert (await throttle.acquire("alice", "198.51.100.7")).allowed
    window_ms = int(throttle.policy.window * 1000)
    assert window_ms - 5_000 < await redis_client.pttl(store.account_key("alice")) <= window_ms
    assert window_ms - 5_000 < await redis_client.pttl(store.source_key("198.51.100.7"))
    await throttle.succeeded("alice", "198.51.100.7")  # known for 30 days: kept as long
    trust_ms = int(throttle.policy.trust_ttl * 1000)
    assert trust_ms - 5_000 < await redis_client.pttl(store.account_key("alice")) <= trust_ms
    stored = await store.load_account("alice")
    assert stored is not None and stored.known == {"198.51.100.7": NOW + throttle.policy.trust_ttl}


async def test_hostile_names_become_fixed_length_hashed_keys(
    store: RedisThrottleStore, redis_client: aioredis.Redis, prefix: str
) -> None:
    huge = "x" * 10_240
    names = [huge, "ユーザー名", "a b\r\n*\x00{tag}:" + "é" * 50 + "\ud800", "", "{", "*"]
    throttle = LoginThrottle(store, Clock(), CAP10)
    for name in names:
        assert (await throttle.acquire(name, name or None)).allowed
        stored = await store.load_account(name)
        assert stored is not None and stored.failures == 1
    assert (await throttle.acquire(huge, huge)).allowed
    stored = await store.load_account(huge)
    assert stored is not None and stored.failures == 2
    keys = await _keys(redis_client, prefix)
    assert len(keys) == 2 * len(names) - 1  # accounts and (non-empty) sources; no locks left
    assert all(len(k) == len(prefix) + 2 + 64 for k in keys)
    assert all(b"tag" not in k and b"x" * 100 not in k for k in keys)
    digest = hashlib.sha256(names[2].encode("utf-8", "surrogatepass")).hexdigest()
    assert store.account_key(names[2]) == f"{prefix}a:{digest}"
    assert store.source_key(names[2]) == f"{prefix}s:{digest}"
    assert store.lock_key(store.account_key(names[2])) == f"{prefix}lock:a:{digest}"


async def test_works_with_a_client_that_decodes_responses(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    decoding = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        throttle = LoginThrottle(RedisThrottleStore(decoding, prefix=prefix), Clock(), CAP10)
        for _ in range(10):
            assert (await throttle.acquire("alice", "203.0.113.1")).allowed
        assert not (await throttle.acquire("alice", "203.0.113.1")).allowed
        await throttle.succeeded("alice", "203.0.113.1")
        assert (await throttle.acquire("alice", "203.0.113.1")).lane == "203.0.113.1"
    finally:
        await decoding.aclose()


# -- shared by instances ----------------------------------------------------------------


async def test_failures_on_one_instance_throttle_the_other(
    redis_client: aioredis.Redis, other_client: aioredis.Redis, prefix: str
) -> None:
    clock = Clock()
    one = LoginThrottle(RedisThrottleStore(redis_client, prefix=prefix), clock)
    two = LoginThrottle(RedisThrottleStore(other_client, prefix=prefix), clock)
    for _ in range(4):  # three free failures, the fourth imposes 1 s
        assert (await one.acquire("alice", "203.0.113.1")).allowed
    blocked = await two.acquire("alice", "203.0.113.2")
    assert not blocked.allowed and blocked.retry_after == pytest.approx(1.0)
    # success on one instance resets the account and makes the IP known on the other
    await one.succeeded("alice", "203.0.113.1")
    decision = await two.acquire("alice", "203.0.113.1")
    assert decision.allowed and decision.lane == "203.0.113.1"


async def test_prefixes_are_separate_budgets(redis_client: aioredis.Redis, prefix: str) -> None:
    clock = Clock()
    login = LoginThrottle(RedisThrottleStore(redis_client, prefix=prefix + "login:"), clock, CAP10)
    mfa = LoginThrottle(RedisThrottleStore(redis_client, prefix=prefix + "mfa:"), clock, CAP10)
    for _ in range(10):
        assert (await login.acquire("u-1", "203.0.113.1")).allowed
    assert not (await login.acquire("u-1", "203.0.113.1")).allowed
    assert (await mfa.acquire("u-1", "203.0.113.1")).allowed


async def _spray(
    throttles: list[LoginThrottle], accounts: list[str], sources: list[str], n: int
) -> int:
    results = await asyncio.gather(
        *(
            throttles[i % len(throttles)].acquire(accounts[i % len(accounts)], sources[i % 250])
            for i in range(n)
        )
    )
    return sum(d.allowed for d in results)


async def test_concurrent_guesses_on_two_instances_never_exceed_the_cap(
    redis_client: aioredis.Redis, other_client: aioredis.Redis, prefix: str
) -> None:
    clock = Clock()
    stores = [RedisThrottleStore(c, prefix=prefix) for c in (redis_client, other_client)]
    throttles = [LoginThrottle(s, clock, CAP10) for s in stores]  # two servers, two locks
    ips = [f"203.0.113.{i}" for i in range(250)]
    for round_ in range(3):
        assert await _spray(throttles, ["victim"], ips, 120) == (10 if round_ == 0 else 0)
    state = await stores[1].load_account("victim")
    assert state is not None and state.failures == 10
    assert await _keys(redis_client, prefix + "lock:") == []  # every lock released


async def test_concurrent_spray_of_accounts_from_one_ip_keeps_the_ip_cap(
    redis_client: aioredis.Redis, other_client: aioredis.Redis, prefix: str
) -> None:
    policy = ThrottlePolicy(known_reserve=0, free_failures=1000, ip_max_failures=10)
    clock = Clock()
    throttles = [
        LoginThrottle(RedisThrottleStore(c, prefix=prefix), clock, policy)
        for c in (redis_client, other_client)
    ]
    accounts = [f"user-{i}" for i in range(60)]
    assert await _spray(throttles, accounts, ["198.51.100.66"] * 250, 120) == 10
    source = await RedisThrottleStore(redis_client, prefix=prefix).load_source("198.51.100.66")
    assert source is not None and source.failures == 10


class _Unlocked(RedisThrottleStore):
    """The store without its lock: load → save races, as before this store existed."""

    @asynccontextmanager
    async def lock(self, account: str, source: str | None) -> AsyncIterator[ThrottleStates]:
        yield self


async def test_control_without_the_lock_concurrent_guesses_slip_past_the_cap(
    redis_client: aioredis.Redis, other_client: aioredis.Redis, prefix: str
) -> None:
    # proves the test above can fail: without the lock, counts are lost
    clock = Clock()
    throttles = [
        LoginThrottle(_Unlocked(c, prefix=prefix), clock, CAP10)
        for c in (redis_client, other_client)
    ]
    assert await _spray(throttles, ["victim"], [f"203.0.113.{i}" for i in range(250)], 120) > 10


# -- locks --------------------------------------------------------------------------------


async def test_a_held_lock_makes_others_wait_then_refuse(
    store: RedisThrottleStore, redis_client: aioredis.Redis, prefix: str
) -> None:
    impatient = LoginThrottle(
        RedisThrottleStore(redis_client, prefix=prefix, lock_timeout=0.2), Clock(), CAP10
    )
    lock = store.lock_key(store.account_key("alice"))
    await redis_client.set(lock, b"someone-else", px=10_000)
    started = time.monotonic()
    with pytest.raises(ThrottleUnavailable):
        await impatient.acquire("alice", "203.0.113.1")
    assert 0.2 <= time.monotonic() - started < 1.5
    assert await store.load_account("alice") is None  # nothing charged, nothing checked
    assert await redis_client.get(lock) == b"someone-else"  # not released by a non-holder
    await redis_client.delete(lock)
    assert (await impatient.acquire("alice", "203.0.113.1")).allowed


async def test_an_abandoned_lock_frees_itself_after_lock_ttl(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = RedisThrottleStore(redis_client, prefix=prefix, lock_ttl=0.3, lock_timeout=2)
    await redis_client.set(store.lock_key(store.account_key("alice")), b"crashed", px=300)
    assert (await LoginThrottle(store, Clock(), CAP10).acquire("alice", None)).allowed


async def test_saves_are_written_when_the_block_ends(store: RedisThrottleStore) -> None:
    async with store.lock("alice", "203.0.113.1") as held:
        assert await held.load_account("alice") is None
        await held.save_account("alice", _account(), 60)
        await held.save_source("203.0.113.1", SourceState(NOW, 1), 60)
        with pytest.raises(ValueError):  # only what is held
            await held.save_account("bob", _account(), 60)
    assert await store.load_account("alice") == _account()
    async with store.lock("alice", "203.0.113.1") as held:
        assert await held.load_account("alice") == _account()
        assert await held.load_source("203.0.113.1") == SourceState(NOW, 1)


@pytest.mark.parametrize("lost", ["account", "source"])
async def test_saves_after_a_lock_was_lost_are_refused_all_or_nothing(
    store: RedisThrottleStore, redis_client: aioredis.Redis, prefix: str, lost: str
) -> None:
    key = store.account_key("alice") if lost == "account" else store.source_key("203.0.113.1")
    lock = store.lock_key(key)
    with pytest.raises(ThrottleUnavailable):
        async with store.lock("alice", "203.0.113.1") as held:
            await redis_client.set(lock, b"a-newer-holder", px=10_000)  # ours expired
            await held.save_account("alice", _account(), 60)
            await held.save_source("203.0.113.1", SourceState(NOW, 1), 60)
    assert await store.load_account("alice") is None
    assert await store.load_source("203.0.113.1") is None
    # the lost lock is left to its new holder, the other one released
    assert await _keys(redis_client, prefix + "lock:") == [lock.encode()]
    assert await redis_client.get(lock) == b"a-newer-holder"


async def test_locks_are_released_and_nothing_saved_when_the_block_fails(
    store: RedisThrottleStore, redis_client: aioredis.Redis, prefix: str
) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("alice", "203.0.113.1") as held:
            assert len(await _keys(redis_client, prefix + "lock:")) == 2
            await held.save_account("alice", _account(), 60)
            raise RuntimeError("boom")
    assert await _keys(redis_client, prefix + "lock:") == []
    assert await store.load_account("alice") is None


# -- failing closed ---------------------------------------------------------------------


async def test_redis_down_refuses_the_attempt_with_a_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = open_redis(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5)
    throttle = LoginThrottle(RedisThrottleStore(down), Clock())
    account = "victim-" + "ü" * 40
    try:
        started = time.monotonic()
        with pytest.raises(ThrottleUnavailable) as info:
            await throttle.acquire(account, "203.0.113.1")
        assert time.monotonic() - started < 2
        # a refund that cannot be recorded does not fail the already verified login
        with caplog.at_level(logging.WARNING):
            await throttle.succeeded(account, "203.0.113.1")
        assert "refund not recorded" in caplog.text
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
    assert account not in error.reason and account not in caplog.text


async def test_hung_redis_refuses_the_attempt() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hung = open_redis(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", timeout=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(ThrottleUnavailable):
                await LoginThrottle(RedisThrottleStore(hung), Clock()).acquire("alice", None)
            assert time.monotonic() - started < 3
        finally:
            await hung.aclose()


async def test_unreadable_state_refuses_instead_of_starting_afresh(
    store: RedisThrottleStore, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(store.account_key("alice"), b'{"v":1,"w":"oops"}', px=60_000)
    with pytest.raises(ThrottleUnavailable):
        await LoginThrottle(store, Clock(), CAP10).acquire("alice", None)
