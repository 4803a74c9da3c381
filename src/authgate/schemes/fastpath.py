"""Reuse of verified identities for header-borne credentials (the hot path's shortcut).

When a request carries exactly one credential header, no credential in its query string,
and that header was last verified by a *cacheable* scheme (API key, Basic, Bearer — whose
result depends on that header alone), the identity is served from here without running
the chain. Entries are keyed by an HMAC of the header name and value (never the value
itself), live at most ``ttl`` seconds, never past the credential's own expiry, and the
whole cache is dropped on any revocation, rotation, disable or password change on this
instance (see :meth:`StoreResolver.on_invalidate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from authgate.crypto.digest import Digester
from authgate.identity import Identity
from authgate.kv.ttl_cache import TtlCache

__all__ = ["VerifiedIdentityCache"]


class VerifiedIdentityCache:
    """Header digest → the identity it verified as (a :class:`~authgate.kv.ttl_cache.TtlCache`).

    Its :meth:`get` is the TTL cache's own (no extra call on the hot path).
    """

    def __init__(
        self,
        digester: Digester,
        *,
        ttl: float = 10.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._digester = digester
        self._entries: TtlCache[str, Identity] = TtlCache(ttl, max_entries, clock)
        self.get = self._entries.get
        # bumped by every clear(): a verification that started before an invalidation
        # must not store its (possibly stale) result after it
        self.epoch = 0

    def key(self, header: bytes, value: bytes) -> str:
        """HMAC of the header's name and value (bytes as received, never decoded)."""
        return self._digester.digest_bytes(value, purpose=b"hdr:" + header)

    def put(self, key: str, identity: Identity, *, epoch: int) -> None:
        """Store ``identity`` unless the cache was cleared since ``epoch`` was read."""
        if epoch == self.epoch:
            self._entries.put(key, identity, until=identity.expires_at)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
