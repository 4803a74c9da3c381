"""A local TTL cache of verified credentials, indexed for immediate invalidation.

Keys are keyed digests of the presented credential (never the credential itself).
Entries are dropped at once when their credential is revoked/rotated or their principal
is disabled or changes password on this instance; other instances see changes within
the TTL (or at once over the Redis invalidation bus).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from authgate.kv.ttl_cache import TtlCache

__all__ = ["CredentialCache", "NegativeCache"]

V = TypeVar("V")


class CredentialCache(Generic[V]):
    """digest → verified value, with per-principal and per-credential invalidation.

    The values live in a :class:`~authgate.kv.ttl_cache.TtlCache` (whose ``get`` this
    one's is); ``_owners`` maps each cached key to its principal and credential for
    the two indexes, and follows every entry the cache drops by itself.
    """

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: TtlCache[str, V] = TtlCache(ttl, max_entries, clock, on_drop=self._unindex)
        self.get = self._entries.get
        self._owners: dict[str, tuple[str, str | None]] = {}
        self._by_principal: dict[str, set[str]] = {}
        self._by_credential: dict[str, set[str]] = {}

    def put(self, key: str, value: V, *, principal_id: str, credential_id: str | None) -> None:
        if self._entries.ttl <= 0 or self._entries.max_entries <= 0:
            return
        self._drop(key)
        self._entries.put(key, value)
        self._owners[key] = (principal_id, credential_id)
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
        self._owners.clear()
        self._by_principal.clear()
        self._by_credential.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        self._entries.pop(key)
        self._unindex(key)

    def _unindex(self, key: str, _value: object = None) -> None:
        owners = self._owners.pop(key, None)
        if owners is None:
            return
        _discard(self._by_principal, owners[0], key)
        if owners[1] is not None:
            _discard(self._by_credential, owners[1], key)


def _discard(index: dict[str, set[str]], name: str, key: str) -> None:
    keys = index.get(name)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[name]


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
        self._entries: TtlCache[str, bool] = TtlCache(ttl, max_entries, clock)

    def __contains__(self, key: str) -> bool:
        return self._entries.get(key) is not None

    def add(self, key: str) -> None:
        self._entries.put(key, True)
