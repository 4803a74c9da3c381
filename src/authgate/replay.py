"""Replay protection: remember nonces for as long as a signature could still be accepted.

The port is :class:`ReplayCache`; :class:`MemoryReplayCache` serves one instance, the
Redis implementation (``authgate.cache.redis_replay``) shares nonces across instances.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from authgate.errors import AuthError

__all__ = ["MemoryReplayCache", "ReplayCache", "ReplayCacheUnavailable"]


class ReplayCacheUnavailable(AuthError):
    """The shared replay cache could not record a nonce, so the request is refused.

    ``temporarily_unavailable`` is RFC 6749 §4.1.2.1's code for a server that cannot
    handle the request for now; ``Retry-After`` tells clients when to try again.
    """

    status = 503
    code = "temporarily_unavailable"
    default_description = "The service is temporarily unavailable."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason, headers=[("retry-after", "1")])


class ReplayCache(Protocol):
    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        """Store ``nonce`` for ``ttl`` seconds; True if it was new, False if a replay."""


class MemoryReplayCache:
    """In-process nonce store with expiry and a size bound (oldest dropped first)."""

    def __init__(self, max_entries: int = 1_000_000, clock: Callable[[], float] = time.monotonic):
        self._seen: dict[str, float] = {}
        self._max = max_entries
        self._clock = clock

    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        now = self._clock()
        expires = self._seen.get(nonce)
        if expires is not None and expires > now:
            return False
        if len(self._seen) >= self._max:
            self._evict(now)
        self._seen[nonce] = now + ttl
        return True

    def _evict(self, now: float) -> None:
        for k in [k for k, exp in self._seen.items() if exp <= now]:
            del self._seen[k]
        while len(self._seen) >= self._max:
            # dicts keep insertion order: drop the oldest entry
            del self._seen[next(iter(self._seen))]
