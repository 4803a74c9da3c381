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

__all__ = ["VerifiedIdentityCache"]


class VerifiedIdentityCache:
    def __init__(
        self,
        digester: Digester,
        *,
        ttl: float = 10.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._digester = digester
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[Identity, float]] = {}
        # bumped by every clear(): a verification that started before an invalidation
        # must not store its (possibly stale) result after it
        self.epoch = 0

    def key(self, header: bytes, value: bytes) -> str:
        """HMAC of the header's name and value (bytes as received, never decoded)."""
        return self._digester.digest_bytes(value, purpose=b"hdr:" + header)

    def get(self, key: str) -> Identity | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[0]

    def put(self, key: str, identity: Identity, *, epoch: int) -> None:
        """Store ``identity`` unless the cache was cleared since ``epoch`` was read."""
        if self._ttl <= 0 or self._max <= 0 or epoch != self.epoch:
            return
        deadline = self._clock() + self._ttl
        if identity.expires_at is not None:
            deadline = min(deadline, identity.expires_at)
        if len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (identity, deadline)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
