"""Reuse of verified identities for header-borne credentials (the hot path's shortcut).

When a request carries exactly one credential header, no credential in its query string,
and that header was last verified by a *cacheable* scheme (API key, Basic, Bearer — whose
result depends on that header alone), the identity is served from here without running
the chain. Entries are keyed by a keyed BLAKE2b of the header name and value under a
random key of this process (never the value itself: a memory dump shows no credential),
live at most ``ttl`` seconds, never past the credential's own expiry, and the
whole cache is dropped on any revocation, rotation, disable or password change on this
instance (see :meth:`StoreResolver.on_invalidate`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from authgate.identity import Identity
from authgate.kv.ttl_cache import TtlCache

__all__ = ["VerifiedIdentityCache"]


class VerifiedIdentityCache:
    """Header digest → the identity it verified as (a :class:`~authgate.kv.ttl_cache.TtlCache`).

    Its :meth:`get` is the TTL cache's own (no extra call on the hot path).
    """

    def __init__(
        self,
        *,
        ttl: float = 10.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # the key lives and dies with the cache: nothing outside this process needs it
        self._mac_key = secrets.token_bytes(32)
        # per header name: the hash state after key and name, copied per request
        self._bases: dict[bytes, hashlib.blake2b] = {}
        self._entries: TtlCache[bytes, Identity] = TtlCache(ttl, max_entries, clock)
        self.get = self._entries.get
        # bumped by every clear(): a verification that started before an invalidation
        # must not store its (possibly stale) result after it
        self.epoch = 0

    def key(self, header: bytes, value: bytes) -> bytes:
        """Keyed BLAKE2b (128 bits) of the header's name and value, as received."""
        base = self._bases.get(header)
        if base is None:
            if len(self._bases) > 64:  # header names come from the chain: a few at most
                self._bases.clear()
            base = self._bases[header] = hashlib.blake2b(key=self._mac_key, digest_size=16)
            base.update(header + b"\0")
        h = base.copy()
        h.update(value)
        return h.digest()

    def put(self, key: bytes, identity: Identity, *, epoch: int) -> None:
        """Store ``identity`` unless the cache was cleared since ``epoch`` was read."""
        if epoch == self.epoch:
            self._entries.put(key, identity, until=identity.expires_at)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
