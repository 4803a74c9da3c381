"""The ExpiringStore port: the memory store and the Redis store pass the same tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
import redis.asyncio as aioredis
from tests._redis_support import scoped_redis

from authgate.kv.memory import MemoryStore
from authgate.kv.redis_store import RedisStore
from authgate.kv.store import Arg, ExpiringStore, Local, Script, StoreUnavailable, hashed

# A counter in one atomic read-modify-write, the shape a rate limiter (GCRA) needs.
_INCR_LUA = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(n), 'PX', ARGV[2])
return n
"""


def _incr_py(local: Local, keys: Sequence[str], args: Sequence[Arg]) -> int:
    n = int(local.read(keys[0]) or b"0") + int(args[0])
    local.write(keys[0], str(n).encode(), int(args[1]) / 1000)
    return n


INCR = Script(_INCR_LUA, _incr_py)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ExpiringStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    prefix = f"authgate:test:{uuid.uuid4().hex}:kv:"
    async with scoped_redis(prefix) as client:
        yield RedisStore(client, prefix=prefix, lock_timeout=1)


async def test_add_get_set_delete(store: ExpiringStore) -> None:
    assert await store.get("k") is None
    assert await store.add("k", b"1", 30) is True
    assert await store.add("k", b"2", 30) is False
    assert await store.get("k") == b"1"
    await store.set("k", b"3", 30)
    assert await store.get("k") == b"3"
    await store.delete("k")
    assert await store.get("k") is None


async def test_values_expire(store: ExpiringStore) -> None:
    await store.set("k", b"1", 0.05)
    assert await store.add("n", b"1", 0.05)
    await asyncio.sleep(0.12)
    assert await store.get("k") is None
    assert await store.add("n", b"1", 30)


async def test_hold_reads_then_writes_all_or_nothing(store: ExpiringStore) -> None:
    await store.set("a", b"old", 30)
    async with store.hold(["a", "b"]) as held:
        assert held.get("a") == b"old" and held.get("b") is None
        held.set("a", b"new", 30)
        held.set("b", b"1", 30)
        with pytest.raises(ValueError):
            held.set("c", b"1", 30)  # only held keys
        assert await store.get("a") == b"old"  # written when the block ends
    assert await store.get("a") == b"new" and await store.get("b") == b"1"
    with pytest.raises(RuntimeError):
        async with store.hold(["a"]) as held:
            held.set("a", b"lost", 30)
            raise RuntimeError
    assert await store.get("a") == b"new"


async def test_holds_exclude_each_other(store: ExpiringStore) -> None:
    async def bump() -> None:
        async with store.hold(["n"]) as held:
            n = int(held.get("n") or b"0")
            await asyncio.sleep(0)
            held.set("n", str(n + 1).encode(), 30)

    await asyncio.gather(*(bump() for _ in range(20)))
    assert await store.get("n") == b"20"


async def test_a_script_is_one_atomic_read_modify_write(store: ExpiringStore) -> None:
    results = await asyncio.gather(*(store.run(INCR, ["c"], [2, 30_000]) for _ in range(10)))
    assert sorted(results) == list(range(2, 22, 2))
    assert await store.get("c") == b"20"


def test_memory_bound_drops_expired_then_oldest_only_when_allowed() -> None:
    clock = [0.0]
    keep = MemoryStore(lambda: clock[0], max_entries=2)
    evict = MemoryStore(lambda: clock[0], max_entries=2, evict_live=True)
    for s in (keep, evict):
        s.write("short", b"1", 1)
        s.write("long", b"1", 100)
    clock[0] = 2
    for s in (keep, evict):
        s.write("a", b"1", 100)  # the expired entry makes room
        s.write("b", b"1", 100)
    assert len(keep) == 3 and keep.read("long") == b"1"  # never forgets a live entry
    assert len(evict) == 2 and evict.read("long") is None  # the oldest went


@pytest.mark.redis
async def test_redis_keys_are_prefixed_and_failures_raise_the_callers_error() -> None:
    prefix = f"authgate:test:{uuid.uuid4().hex}:kv:"

    class Down(StoreUnavailable):
        pass

    async with scoped_redis(prefix) as client:
        store = RedisStore(client, prefix=prefix)
        await store.set(hashed("x"), b"1", 30)
        assert [k async for k in client.scan_iter(match=prefix + "*")] == [
            (prefix + hashed("x")).encode()
        ]
    closed = aioredis.Redis(port=1, socket_connect_timeout=0.2)
    try:
        with pytest.raises(Down):
            await RedisStore(closed, prefix=prefix, unavailable=Down).get("x")
    finally:
        await closed.aclose()
