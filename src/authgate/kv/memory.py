""":class:`~authgate.kv.store.ExpiringStore` in this process: a dict of value and deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from authgate.kv.store import Arg, Held, HeldKeys, Script

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
        self._evict_live = evict_live
        self._data: dict[str, tuple[bytes, float]] = {}
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._data)

    # -- synchronous (Local, and callers that must not await) ------------------------

    def read(self, key: str) -> bytes | None:
        """The value of ``key``; an expired one is dropped."""
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[1] > self._clock():
            return entry[0]
        del self._data[key]
        return None

    def expiry(self, key: str) -> float | None:
        """The deadline of ``key`` (on the clock's scale), or None when it is absent."""
        return self._data[key][1] if self.read(key) is not None else None

    def write(self, key: str, value: bytes, ttl: float) -> None:
        """Set ``key`` for ``ttl`` seconds."""
        if key not in self._data and len(self._data) >= self._max:
            self._prune()
        self._data[key] = (value, self._clock() + ttl)

    def write_new(self, key: str, value: bytes, ttl: float) -> bool:
        """Set ``key`` unless it exists; True if it was set."""
        if self.read(key) is not None:
            return False
        self.write(key, value, ttl)
        return True

    def erase(self, key: str) -> None:
        """Forget ``key``."""
        self._data.pop(key, None)

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, (_, until) in self._data.items() if until <= now]:
            del self._data[key]
        while self._evict_live and self._data and len(self._data) >= self._max:
            del self._data[next(iter(self._data))]  # dicts keep insertion order

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
