"""The one local TTL cache: expiry on get, oldest first when full, the drop hook."""

from __future__ import annotations

from authgate.kv.ttl_cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl_or_earlier_deadline() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(10, 5, clock)
    cache.put("a", 1)
    cache.put("b", 2, until=clock.now + 3)
    cache.put("c", 3, until=clock.now + 30)  # the TTL bounds a later deadline
    clock.now += 5
    assert cache.get("a") == 1 and cache.get("b") is None and len(cache) == 2
    clock.now += 5
    assert cache.get("a") is None and cache.get("c") is None and len(cache) == 0


def test_explicit_now_for_callers_with_their_own_clock() -> None:
    cache: TtlCache[str, int] = TtlCache(10, 5)
    cache.put("a", 1, now=0.0)
    assert cache.get_at("a", 9.9) == 1
    assert cache.get_at("a", 10.0) is None and len(cache) == 0


def test_full_cache_drops_the_oldest_put_and_a_hit_does_not_reorder() -> None:
    dropped: list[tuple[str, int]] = []
    cache: TtlCache[str, int] = TtlCache(
        60, 3, Clock(), on_drop=lambda k, v: dropped.append((k, v))
    )
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert cache.get("a") == 0
    cache.put("b", 10)  # again: b becomes the newest, nothing dropped
    cache.put("d", 3)
    assert list(cache) == ["c", "b", "d"] and dropped == [("a", 0)]
    assert cache.pop("c") == 2 and cache.pop("c") is None
    cache.clear()
    assert len(cache) == 0
    assert dropped == [("a", 0)]  # pop and clear are the caller's own: not reported


def test_an_expired_entry_found_by_get_is_reported_dropped() -> None:
    dropped: list[str] = []
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(1, 3, clock, on_drop=lambda k, v: dropped.append(k))
    cache.put("a", 1)
    clock.now += 1
    assert cache.get("a") is None and dropped == ["a"] and len(cache) == 0


def test_zero_ttl_or_size_disables_the_cache() -> None:
    for ttl, size in ((0, 5), (10, 0)):
        cache: TtlCache[str, int] = TtlCache(ttl, size, Clock())
        cache.put("a", 1)
        assert cache.get("a") is None and len(cache) == 0


def test_repr_never_shows_keys() -> None:
    cache: TtlCache[str, int] = TtlCache(10, 5, Clock())
    cache.put("secret-digest", 1)
    assert "secret" not in repr(cache)


def test_expiry_and_prune() -> None:
    dropped: list[str] = []
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(10, 5, clock, on_drop=lambda k, v: dropped.append(k))
    cache.put("a", 1, until=clock.now + 1)
    cache.put("b", 2)
    assert cache.expiry("a") == clock.now + 1 and cache.expiry("x") is None
    clock.now += 1
    assert cache.expiry("a") is None
    cache.prune()
    assert list(cache) == ["b"] and dropped == ["a"]
