"""Cached snapshots of registered OAuth clients for the token endpoint's hot path.

RFC 6749 §2.3 (client authentication on every token request): the lookup of a client
must not cost a database round trip per request. :class:`ClientRecord` is an immutable
snapshot (the secret's HMAC digest, never the secret); :class:`ClientCache` keeps them for
a short TTL and is invalidated on rotation and deletion (here at once, on other instances
over the Redis invalidation bus), like the credential cache of API keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authgate.kv.ttl_cache import TtlCache
from authgate.store.models_oauth import OAuthClientRecord

__all__ = ["ClientCache", "ClientRecord"]


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """What the token endpoint needs of a client: an immutable snapshot, safe to cache.

    Holds the secret's digest, never the secret.
    """

    id: str
    client_id: str
    name: str
    public: bool
    secret_digest: str | None
    auth_method: str
    jwks: dict[str, Any] | None
    grants: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    user_id: str | None

    @classmethod
    def of(cls, row: OAuthClientRecord) -> ClientRecord:
        return cls(
            row.id,
            row.client_id,
            row.name,
            row.public,
            row.secret_digest,
            row.token_endpoint_auth_method,
            dict(row.jwks) if row.jwks is not None else None,
            tuple(row.grants),
            tuple(row.redirect_uris),
            tuple(row.scopes),
            row.user_id,
        )

    def __repr__(self) -> str:
        return f"ClientRecord(client_id={self.client_id!r}, secret_digest=***)"


class ClientCache:
    """This instance's cache of active client records, by ``client_id``, with a TTL.

    Only found clients are cached (a flood of unknown ids cannot fill it); rotation and
    deletion drop the entry at once here and, over the invalidation bus, elsewhere.

    Args:
        ttl: seconds an entry is trusted; 0 disables the cache.
        max_entries: the bound; beyond it the oldest entry goes
            (:class:`~authgate.kv.ttl_cache.TtlCache`).
        clock: monotonic seconds.
    """

    def __init__(
        self,
        *,
        ttl: float = 10.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: TtlCache[str, ClientRecord] = TtlCache(ttl, max_entries, clock)
        self.get = self._entries.get

    @property
    def ttl(self) -> float:
        return self._entries.ttl

    def put(self, record: ClientRecord) -> None:
        self._entries.put(record.client_id, record)

    def invalidate(self, client_id: str) -> None:
        self._entries.pop(client_id)

    def clear(self) -> None:
        self._entries.clear()
