"""A local TTL cache of verified credentials, indexed for immediate invalidation.

Keys are keyed digests of the presented credential (never the credential itself).
Entries are dropped at once when their credential is revoked/rotated or their principal
is disabled or changes password on this instance; other instances see changes within
the TTL (or at once over the Redis invalidation bus).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["CredentialCache", "NegativeCache"]

V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float
    principal_id: str
    credential_id: str | None


class CredentialCache(Generic[V]):
    """digest → verified value, with per-principal and per-credential invalidation."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, _Entry[V]] = {}
        self._by_principal: dict[str, set[str]] = {}
        self._by_credential: dict[str, set[str]] = {}

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            self._drop(key)
            return None
        return entry.value

    def put(self, key: str, value: V, *, principal_id: str, credential_id: str | None) -> None:
        if self._ttl <= 0 or self._max <= 0:
            return
        if key in self._entries:
            self._drop(key)
        while len(self._entries) >= self._max:
            self._drop(next(iter(self._entries)))
        self._entries[key] = _Entry(value, self._clock() + self._ttl, principal_id, credential_id)
        self._by_principal.setdefault(principal_id, set()).add(key)
        if credential_id is not None:
            self._by_credential.setdefault(credential_id, set()).add(key)

    def invalidate_principal(self, principal_id: str) -> None:
        for key in list(self._by_principal.get(principal_id, ())):
            self._drop(key)

    def invalidate_credential(self, credential_id: str) -> None:
        for key in list(self._by_credential.get(credential_id, ())):
            self._drop(key)

    def clear(self) -> None:
        self._entries.clear()
        self._by_principal.clear()
        self._by_credential.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        keys = self._by_principal.get(entry.principal_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_principal[entry.principal_id]
        if entry.credential_id is not None:
            keys = self._by_credential.get(entry.credential_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_credential[entry.credential_id]


class NegativeCache:
    """Digests of keys known not to exist.

    Safe to keep for long: a random key that does not exist now cannot start to exist
    later (creating it would mean someone had guessed it). Bounded, oldest dropped first,
    so a flood of garbage keys cannot grow memory and cannot reach the database twice.
    """

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, float] = {}

    def __contains__(self, key: str) -> bool:
        exp = self._entries.get(key)
        if exp is None:
            return False
        if exp <= self._clock():
            del self._entries[key]
            return False
        return True

    def add(self, key: str) -> None:
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = self._clock() + self._ttl
