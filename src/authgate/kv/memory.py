"""The :class:`~authgate.kv.store.ExpiringStore` of one process, on a ``TtlCache``."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from authgate.kv.store import Arg, Held, HeldKeys, Script
from authgate.kv.ttl_cache import TtlCache

__all__ = ["MemoryStore"]


class MemoryStore:
    """Expiring keys of one process, bounded.

    Every operation runs without an await, so each is atomic against the other tasks;
    :meth:`hold` takes one lock for the whole store.

    Args:
        clock: seconds; deadlines are ``clock() + ttl``.
        max_entries: when a new key would pass it, expired keys are dropped first.
        evict_live: then also drop the oldest live keys (a replay cache may forget, a
            deny-list or a throttle must not: they grow past the bound instead).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_entries: int = 100_000,
        evict_live: bool = False,
    ) -> None:
        self._clock = clock
        self._max = max_entries
        # the TtlCache evicts the oldest live keys at its bound: only when that is allowed
        bound = max_entries if evict_live else sys.maxsize
        self._data: TtlCache[str, bytes] = TtlCache(math.inf, bound, clock)
        #: The value of a key; an expired one is dropped (the cache's own ``get``).
        self.read: Callable[[str], bytes | None] = self._data.get
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._data)

    # -- synchronous (Local, and callers that must not await) ------------------------

    def expiry(self, key: str) -> float | None:
        """The deadline of ``key`` (on the clock's scale), or None when it is absent."""
        return self._data.expiry(key)

    def write(self, key: str, value: bytes, ttl: float) -> None:
        """Set ``key`` for ``ttl`` seconds."""
        if len(self._data) >= self._max and self._data.expiry(key) is None:
            self._data.prune()
        self._data.put(key, value, until=self._clock() + ttl)

    def write_new(self, key: str, value: bytes, ttl: float) -> bool:
        """Set ``key`` unless it exists; True if it was set."""
        if self.read(key) is not None:
            return False
        self.write(key, value, ttl)
        return True

    def erase(self, key: str) -> None:
        """Forget ``key``."""
        self._data.pop(key)

    # -- ExpiringStore ---------------------------------------------------------------

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        return self.write_new(key, value, ttl)

    async def get(self, key: str) -> bytes | None:
        return self.read(key)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self.write(key, value, ttl)

    async def delete(self, key: str) -> None:
        self.erase(key)

    @asynccontextmanager
    async def hold(self, keys: Sequence[str]) -> AsyncIterator[Held]:
        """One lock for the whole store: the state lives in this process only."""
        async with self._lock:
            held = HeldKeys({key: self.read(key) for key in keys})
            yield held
            for key, (value, ttl) in held.writes.items():
                self.write(key, value, ttl)

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        return script.python(self, keys, args)
