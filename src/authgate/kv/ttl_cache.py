"""One bounded in-process cache with expiry, for every local cache of verified things.

Used by the credential caches (:mod:`authgate.accounts.caches`), the verified-identity
fast path (:mod:`authgate.schemes.fastpath`), the verified-token cache
(:mod:`authgate.tokens.cache`) and the OAuth client cache (:mod:`authgate.oauth.records`).

**Expiry.** Each entry carries its own deadline (``now + ttl`` unless the caller gives an
earlier one); :meth:`TtlCache.get` is one dict lookup and one compare, and drops an entry
it finds expired.

**Eviction: oldest first.** When a put would exceed ``max_entries``, the entry inserted
longest ago goes (a dict keeps insertion order), expired or not; putting a key again
moves it to the end. A hit does not reorder (no LRU bookkeeping on the hot path): an entry
lives at most its TTL anyway, so "oldest" and "least recently used" differ only for
caches that are too small, and bounded memory is what the bound is for (decision 0008).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``key → value`` for at most ``ttl`` seconds, at most ``max_entries`` of them.

    Args:
        ttl: seconds an entry lives; 0 (or less) disables the cache (puts are ignored).
        max_entries: the bound; 0 (or less) disables the cache.
        clock: seconds; the deadlines given to :meth:`put` use the same clock.
        on_drop: told of each entry the cache drops by itself (expired on a get, or
            evicted by a put), not of :meth:`pop` or :meth:`clear` — for callers that
            keep indexes over the keys.
    """

    __slots__ = ("_clock", "_entries", "_on_drop", "max_entries", "ttl")

    def __init__(
        self,
        ttl: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        on_drop: Callable[[K, V], None] | None = None,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._on_drop = on_drop
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        """The value of ``key`` if it has not expired (the hot path: a lookup, a compare)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] > self._clock():
            return entry[0]
        self._drop(key)
        return None

    def get_at(self, key: K, now: float) -> V | None:
        """:meth:`get` on the caller's clock: the value if it has not expired at ``now``."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= now:
            self._drop(key)
            return None
        return None if entry is None else entry[0]

    def put(
        self, key: K, value: V, *, until: float | None = None, now: float | None = None
    ) -> None:
        """Keep ``value`` until ``until`` or ``ttl`` seconds after ``now``, whichever is first.

        ``now`` defaults to the clock; ``until`` and ``now`` are on the clock's scale.
        """
        if self.ttl <= 0 or self.max_entries <= 0:
            return
        deadline = (self._clock() if now is None else now) + self.ttl
        if until is not None and until < deadline:
            deadline = until
        entries = self._entries
        if entries.pop(key, None) is None:
            while len(entries) >= self.max_entries:
                self._drop(next(iter(entries)))
        entries[key] = (value, deadline)

    def expiry(self, key: K) -> float | None:
        """The deadline of ``key`` while it lives, else None."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[1] > self._clock() else None

    def prune(self) -> None:
        """Drop every expired entry (each reported to ``on_drop``)."""
        now = self._clock()
        for key in [k for k, (_, until) in self._entries.items() if until <= now]:
            self._drop(key)

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value (expired or not), or None."""
        entry = self._entries.pop(key, None)
        return None if entry is None else entry[0]

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"TtlCache({len(self._entries)} entries)"  # never the keys: they are digests

    def _drop(self, key: K) -> None:
        value, _ = self._entries.pop(key)
        if self._on_drop is not None:
            self._on_drop(key, value)
