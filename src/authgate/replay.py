"""Replay protection: remember nonces for as long as a signature could still be accepted.

The port is :class:`ReplayCache`; :class:`NonceStore` implements it on any
:class:`~authgate.kv.store.ExpiringStore` with one atomic set-if-absent: the first to store
a nonce wins, every other ``check_and_store`` of it sees a replay until the TTL lapses
(RFC 9421 §7.2.2, RFC 5849 §3.3, the HMAC scheme's nonce window).
:class:`MemoryReplayCache` serves one instance; the Redis one
(:class:`~authgate.cache.redis_replay.RedisReplayCache`) shares nonces across instances,
its keys the SHA-256 of the nonce (no client input reaches Redis key space). A store that
cannot answer raises :class:`ReplayCacheUnavailable` (503): a signed request is never
accepted without its nonce having been recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from authgate.kv.memory import MemoryStore
from authgate.kv.store import ExpiringStore, StoreUnavailable

__all__ = ["MemoryReplayCache", "NonceStore", "ReplayCache", "ReplayCacheUnavailable"]


class ReplayCacheUnavailable(StoreUnavailable):
    """The shared replay cache could not record a nonce, so the request is refused (503)."""


class ReplayCache(Protocol):
    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        """Store ``nonce`` for ``ttl`` seconds; True if it was new, False if a replay."""


class NonceStore:
    """:class:`ReplayCache` on an expiring store.

    Args:
        store: where the nonces live.
        key: the store key of a nonce (the Redis store hashes it).
    """

    def __init__(self, store: ExpiringStore, key: Callable[[str], str] = str) -> None:
        self._store = store
        self._key = key

    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        """Store ``nonce`` for ``ttl`` seconds; True if it was new, False if a replay.

        Raises:
            ReplayCacheUnavailable: the store did not answer; the request must be refused.
        """
        return await self._store.add(self._key(nonce), b"1", ttl)


class MemoryReplayCache(NonceStore):
    """In-process nonce store with expiry and a size bound (oldest dropped first)."""

    def __init__(self, max_entries: int = 1_000_000, clock: Callable[[], float] = time.monotonic):
        super().__init__(MemoryStore(clock, max_entries=max_entries, evict_live=True))
