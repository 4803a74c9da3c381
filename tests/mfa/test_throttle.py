"""The throttle policy, sans-I/O with an injected clock and the memory store."""

from __future__ import annotations

import pytest

from authgate.mfa.throttle import LoginThrottle, ThrottlePolicy
from authgate.mfa.throttle_store import MemoryThrottleStore


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(policy: ThrottlePolicy | None = None) -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    return LoginThrottle(MemoryThrottleStore(clock), clock, policy or ThrottlePolicy()), clock


async def fail(t: LoginThrottle, account: str, ip: str) -> bool:
    """One wrong attempt; True if it was allowed to be checked at all."""
    return (await t.acquire(account, ip)).allowed


def test_policy_caps_at_100_failures_and_delay_grows_to_a_bound() -> None:
    p = ThrottlePolicy()
    assert p.max_failures <= 100
    assert [p.delay(n) for n in range(1, 10)] == [0, 0, 0, 1, 2, 4, 8, 16, 30]
    assert p.delay(10_000) == p.max_delay == 30
    with pytest.raises(ValueError):
        ThrottlePolicy(max_failures=101)
    with pytest.raises(ValueError):
        ThrottlePolicy(known_reserve=100)


async def test_three_free_failures_then_growing_delay() -> None:
    t, clock = make()
    for _ in range(3):
        assert await fail(t, "u1", "198.51.100.1")
    d = await t.acquire("u1", "198.51.100.1")
    assert d.allowed  # the 4th is allowed; it then imposes 1 s
    blocked = await t.acquire("u1", "198.51.100.2")  # another IP: same account lane
    assert not blocked.allowed and blocked.retry_after == pytest.approx(1.0)
    clock.now += 1
    assert await fail(t, "u1", "198.51.100.3")
    blocked = await t.acquire("u1", "198.51.100.1")
    assert not blocked.allowed and blocked.retry_after == pytest.approx(2.0)


async def test_counts_per_account_across_ips_never_more_than_100_per_window() -> None:
    t, clock = make()
    allowed = 0
    # an attacker rotating IPs, retrying as fast as the throttle allows, for 55 minutes
    for i in range(3300):
        if await fail(t, "victim", f"203.0.113.{i % 250}"):
            allowed += 1
        clock.now += 1
    assert allowed <= 90  # unknown sources stop short of the reserve


async def test_success_resets_the_account() -> None:
    t, clock = make()
    for _ in range(6):
        await fail(t, "u1", "198.51.100.1")
        clock.now += 60
    await t.acquire("u1", "198.51.100.1")
    await t.succeeded("u1", "198.51.100.1")
    assert all([await fail(t, "u1", "198.51.100.1") for _ in range(3)])


async def test_never_permanent_the_window_ends() -> None:
    t, clock = make(ThrottlePolicy(free_failures=100, known_reserve=0))
    for _ in range(100):
        assert await fail(t, "u1", f"203.0.113.{_}")
    d = await t.acquire("u1", "198.51.100.9")
    assert not d.allowed and 0 < d.retry_after <= 3600
    clock.now += d.retry_after
    assert (await t.acquire("u1", "198.51.100.9")).allowed


async def test_known_source_keeps_its_lane_while_strangers_hammer_the_account() -> None:
    t, clock = make()
    await t.acquire("u1", "192.0.2.10")
    await t.succeeded("u1", "192.0.2.10")  # the user's usual network
    for i in range(2000):  # strangers: many IPs, as fast as allowed
        await fail(t, "u1", f"203.0.113.{i % 200}")
        clock.now += 1
    assert not (await t.acquire("u1", "198.51.100.77")).allowed  # a new stranger: refused
    assert (await t.acquire("u1", "192.0.2.10")).allowed  # the user: still checked


async def test_per_ip_cap_across_accounts() -> None:
    t, _ = make()
    for i in range(100):
        assert await fail(t, f"user{i}", "203.0.113.5")
    d = await t.acquire("user-new", "203.0.113.5")
    assert not d.allowed and d.retry_after > 0
    assert (await t.acquire("user-new", "203.0.113.6")).allowed


async def test_concurrent_attempts_are_each_charged() -> None:
    import asyncio

    t, _ = make(ThrottlePolicy(free_failures=2))
    results = await asyncio.gather(*(t.acquire("u1", "198.51.100.1") for _ in range(10)))
    assert sum(d.allowed for d in results) == 3
