"""GCRA on the memory store (a fake clock) and on Redis (Redis's clock, two instances)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from tests._redis_support import scoped_redis

from authgate.kv.memory import MemoryStore
from authgate.kv.redis_store import RedisStore
from authgate.policy.model import RateLimit
from authgate.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(MemoryStore(clock), clock=clock)


async def test_a_whole_period_at_once_then_one_per_interval() -> None:
    clock = Clock()
    rl = limiter(clock)
    five = RateLimit(rate="5/s")  # no burst given: 5 at once, then one every 200 ms
    verdicts = [await rl.hit("k", five) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True] * 5
    assert [v.remaining for v in verdicts] == [4, 3, 2, 1, 0]
    assert all(v.limit == 5 for v in verdicts)
    refused = await rl.hit("k", five)
    assert not refused.allowed and refused.remaining == 0 and refused.retry_after == 1
    clock.now += 0.199
    assert not (await rl.hit("k", five)).allowed
    clock.now += 0.002
    assert (await rl.hit("k", five)).allowed
    assert not (await rl.hit("k", five)).allowed
    clock.now += 1.0  # a full period later the whole burst is back
    assert [(await rl.hit("k", five)).allowed for _ in range(6)] == [True] * 5 + [False]


async def test_burst_zero_spaces_requests_evenly_and_keys_are_separate() -> None:
    clock = Clock()
    rl = limiter(clock)
    steady = RateLimit(rate="2/s", burst=0)
    assert (await rl.hit("a", steady)).allowed
    assert not (await rl.hit("a", steady)).allowed
    assert (await rl.hit("b", steady)).allowed  # another key, its own budget
    clock.now += 0.5
    assert (await rl.hit("a", steady)).allowed


async def test_a_refusal_does_not_use_up_the_budget() -> None:
    clock = Clock()
    rl = limiter(clock)
    one = RateLimit(rate="1/10s", burst=0)
    assert (await rl.hit("k", one)).allowed
    for _ in range(100):  # hammering while refused moves nothing
        assert not (await rl.hit("k", one)).allowed
    clock.now += 10.0
    assert (await rl.hit("k", one)).allowed


async def test_reset_says_when_the_burst_is_whole_again() -> None:
    clock = Clock()
    rl = limiter(clock)
    ten = RateLimit(rate="10/m")  # 6 s apart, 10 at once
    first = await rl.hit("k", ten)
    assert first.reset == 6 and first.remaining == 9
    for _ in range(9):
        last = await rl.hit("k", ten)
    assert last.remaining == 0 and last.reset == 60


async def test_redis_counts_like_memory() -> None:
    prefix = f"authgate-test:rl:{uuid.uuid4().hex[:8]}:"
    async with scoped_redis(prefix) as redis:
        rl = RateLimiter(RedisStore(redis, prefix=prefix))
        five = RateLimit(rate="5/m")  # slow: the test's own timing cannot matter
        verdicts = [await rl.hit("k", five) for _ in range(6)]
        assert [v.allowed for v in verdicts] == [True] * 5 + [False]
        assert [v.remaining for v in verdicts] == [4, 3, 2, 1, 0, 0]
        assert 11 <= verdicts[-1].retry_after <= 12  # the next one is 12 s after the first
        assert (await rl.hit("other", five)).allowed


async def _hammer_from_two_instances(limit: RateLimit, duration: float) -> list[int]:
    """Two limiters, each with its own Redis connection (as two processes have), hit one
    key from two tasks each for ``duration`` seconds; how many each one admitted."""
    prefix = f"authgate-test:rl:{uuid.uuid4().hex[:8]}:"
    async with scoped_redis(prefix) as first, scoped_redis(prefix) as second:
        instances = [RateLimiter(RedisStore(r, prefix=prefix)) for r in (first, second)]
        admitted = [0, 0]
        deadline = time.monotonic() + duration

        async def hammer(i: int) -> None:
            while time.monotonic() < deadline:
                if (await instances[i].hit("shared", limit)).allowed:
                    admitted[i] += 1

        await asyncio.gather(hammer(0), hammer(1), hammer(0), hammer(1))
    return admitted


async def test_two_instances_sharing_redis_admit_exactly_the_limit() -> None:
    # 100 per minute, hammered for 1 s: the 100 of the burst, plus 1 s of refill (1.67)
    admitted = await _hammer_from_two_instances(RateLimit(rate="100/m"), 1.0)
    print(f"100/m for 1 s through two instances: {sum(admitted)} admitted {admitted}")
    assert 100 <= sum(admitted) <= 102
    assert min(admitted) > 0  # both instances served some


async def test_two_instances_sharing_redis_hold_a_sustained_rate_within_5_percent() -> None:
    # 50/s with a burst of 5, hammered for 2 s: 6 at once, then 50 a second: 106
    admitted = await _hammer_from_two_instances(RateLimit(rate="50/s", burst=5), 2.0)
    expected = 6 + 2.0 * 50
    print(f"50/s for 2 s through two instances: {sum(admitted)} of {expected:.0f} {admitted}")
    assert abs(sum(admitted) - expected) <= 0.05 * expected


async def test_concurrent_hits_on_the_memory_store_are_exact() -> None:
    clock = Clock()
    rl = limiter(clock)
    limit = RateLimit(rate="100/h")
    results = await asyncio.gather(*(rl.hit("k", limit) for _ in range(250)))
    assert sum(v.allowed for v in results) == 100


@pytest.mark.parametrize("rate", ["1/s", "1000000/d", "7/15m"])
async def test_remaining_never_negative_and_verdicts_are_whole_seconds(rate: str) -> None:
    clock = Clock()
    rl = limiter(clock)
    for _ in range(20):
        v = await rl.hit("k", RateLimit(rate=rate))
        assert v.remaining >= 0 and v.reset >= 0 and v.retry_after >= 0
        clock.now += 0.01
