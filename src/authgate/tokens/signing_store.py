"""The signing key ring in the database: bootstrap, rotation, reload, pruning.

RFC 7517 §5 (JWK Set), RFC 8414 §2 (``jwks_uri``), RFC 7515 (JWS). Private keys are sealed
with the master key ring (AES-256-GCM, the ``kid`` bound as associated data, see
:mod:`authgate.crypto.sealing`); nothing private is stored in clear.

Rotation (:meth:`SigningKeyService.rotate`) writes, in one transaction, a new key whose
``activated_at`` lies ``publish_delay`` seconds ahead and sets the current key's
``retired_at`` to the same instant and its ``expires_at`` to ``retired_at`` +
``max_token_lifetime``. Every instance derives the states from those timestamps, so the
switch happens at the same moment everywhere; instances learn about a rotation made
elsewhere by reloading at least every ``refresh_interval`` seconds (required to be well
below ``publish_delay``) and at once when a token names an unknown ``kid``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from authgate.crypto.sealing import MasterKeyRing
from authgate.errors import Conflict
from authgate.store.db import Database
from authgate.store.models_tokens import SigningKeyRecord
from authgate.tokens.claims import invalid_token
from authgate.tokens.keys import KeyRing
from authgate.tokens.signing import (
    SIGNING_ALGORITHMS,
    SigningKey,
    SigningKeyRing,
    generate_signing_key,
    import_private_jwk,
    public_jwk,
)

__all__ = ["LocalKeySource", "SigningKeyService"]

#: How far back a first (bootstrap) signing key is dated, for instances with slower clocks.
BOOTSTRAP_SKEW = 300.0


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class SigningKeyService:
    """Loads, creates and rotates the signing keys; holds the in-memory ring.

    Args:
        db: the database.
        master_keys: seals and unseals the private keys.
        algorithms: the algorithms that must always have an active key.
        publish_delay: seconds a new key is published before it signs.
        max_token_lifetime: seconds the longest-lived token signed by a key may live
            (plus leeway); a retired key stays published that long.
        refresh_interval: the longest an instance goes without reloading the keys.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        master_keys: MasterKeyRing,
        *,
        algorithms: Sequence[str] = SIGNING_ALGORITHMS,
        publish_delay: float = 900.0,
        max_token_lifetime: float = 3600.0 + 60.0,
        refresh_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = [a for a in algorithms if a not in SIGNING_ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(f"signing algorithms must be among {SIGNING_ALGORITHMS}")
        if refresh_interval <= 0 or publish_delay < 2 * refresh_interval:
            # An instance must see a new key (reload) well before any token uses it.
            raise ValueError("publish_delay must be at least twice refresh_interval")
        if max_token_lifetime <= 0:
            raise ValueError("max_token_lifetime must be positive")
        self._db = db
        self._seal = master_keys
        self.algorithms = tuple(dict.fromkeys(algorithms))
        self.publish_delay = publish_delay
        self.max_token_lifetime = max_token_lifetime
        self.refresh_interval = refresh_interval
        self._clock = clock
        self._ring = SigningKeyRing()
        self._loaded_at = float("-inf")
        self._unknown_kid_at = float("-inf")
        self._lock = asyncio.Lock()
        self._decoded: dict[str, SigningKey] = {}

    @property
    def ring(self) -> SigningKeyRing:
        """The current in-memory ring."""
        return self._ring

    def now(self) -> float:
        """The service clock."""
        return self._clock()

    async def start(self) -> SigningKeyRing:
        """Create an active key for every algorithm that has none, then load the ring."""
        await self.load()
        now = self._clock()
        missing = [
            a
            for a in self.algorithms
            if not any(k.algorithm == a and k.state(now) != "retired" for k in self._ring.keys)
        ]
        if missing:
            # A first key has nothing to be published ahead of, so it is active at once —
            # dated a little back, so instances whose clocks run slightly behind this one's
            # do not find themselves without a signing key.
            async with self._db.session() as s, s.begin():
                for algorithm in missing:
                    s.add(self._new_record(algorithm, activated_at=now - BOOTSTRAP_SKEW))
            await self.load()
        return self._ring

    async def load(self) -> SigningKeyRing:
        """Reload the keys from the database (unexpired ones) and persist state changes."""
        now = self._clock()
        async with self._db.session() as s:
            rows = (await s.scalars(select(SigningKeyRecord))).all()
        keys: list[SigningKey] = []
        changed: dict[str, str] = {}
        for row in rows:
            key = self._decode(row)
            if not key.is_published(now):
                continue
            keys.append(key)
            if row.state != key.state(now):
                changed[row.id] = key.state(now)
        if changed:
            async with self._db.session() as s, s.begin():
                for kid, state in changed.items():
                    await s.execute(
                        update(SigningKeyRecord)
                        .where(SigningKeyRecord.id == kid)
                        .values(state=state)
                    )
        self._ring = SigningKeyRing(keys)
        self._loaded_at = now
        return self._ring

    async def refresh_if_stale(self) -> SigningKeyRing:
        """Reload when the ring is older than ``refresh_interval`` (one reload at a time)."""
        if self._clock() - self._loaded_at < self.refresh_interval:
            return self._ring
        loaded_at = self._loaded_at
        async with self._lock:
            if self._loaded_at == loaded_at:
                await self.load()
        return self._ring

    async def refresh_for_kid(self, kid: str) -> SigningKeyRing:
        """Reload because a token named an unknown ``kid`` (at most once per second, so a
        flood of random ``kid`` values costs the database one query per second)."""
        now = self._clock()
        if self._ring.get(kid) is not None or now - self._unknown_kid_at < 1.0:
            return self._ring
        self._unknown_kid_at = now
        async with self._lock:
            if self._ring.get(kid) is None:
                await self.load()
        return self._ring

    async def rotate(self, algorithms: Sequence[str] | None = None) -> list[str]:
        """Schedule a new key for each algorithm: published now, signing after
        ``publish_delay``; the current key retires then and expires ``max_token_lifetime``
        later.

        Args:
            algorithms: the algorithms to rotate (default: all configured).

        Returns:
            The new keys' ids.

        Raises:
            Conflict: a rotation of one of these algorithms is already pending.
            ValueError: an algorithm is not configured.
        """
        wanted = tuple(algorithms or self.algorithms)
        if any(a not in self.algorithms for a in wanted):
            raise ValueError("rotate only configured algorithms")
        await self.load()
        now = self._clock()
        switch = now + self.publish_delay
        new_ids: list[str] = []
        async with self._db.session() as s, s.begin():
            for algorithm in wanted:
                keys = [k for k in self._ring.keys if k.algorithm == algorithm]
                if any(k.state(now) == "next" for k in keys):
                    raise Conflict(f"a rotation of {algorithm} is already pending")
                for old in keys:
                    if old.state(now) == "active" and old.retired_at is None:
                        await s.execute(
                            update(SigningKeyRecord)
                            .where(SigningKeyRecord.id == old.kid)
                            .values(
                                retired_at=_dt(switch),
                                expires_at=_dt(switch + self.max_token_lifetime),
                            )
                        )
                record = self._new_record(algorithm, activated_at=switch)
                s.add(record)
                new_ids.append(record.id)
        await self.load()
        return new_ids

    async def prune(self) -> int:
        """Delete keys that have left the JWK Set; returns how many."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                delete(SigningKeyRecord).where(
                    SigningKeyRecord.expires_at.is_not(None),
                    SigningKeyRecord.expires_at <= _dt(self._clock()),
                )
            )
        for kid in [k for k in self._decoded if self._ring.get(k) is None]:
            self._decoded.pop(kid, None)
        return int(getattr(result, "rowcount", 0) or 0)

    # -- helpers ------------------------------------------------------------------------

    def _new_record(self, algorithm: str, *, activated_at: float) -> SigningKeyRecord:
        private = generate_signing_key(algorithm)
        jwk = public_jwk(private, algorithm)
        kid = str(jwk["kid"])
        now = self._clock()
        sealed = self._seal.seal(json.dumps(private.as_dict(private=True)), aad=kid)
        return SigningKeyRecord(
            id=kid,
            algorithm=algorithm,
            private_sealed=sealed,
            public_jwk=jwk,
            state="active" if activated_at <= now else "next",
            created_at=_dt(now),
            activated_at=_dt(activated_at),
            retired_at=None,
            expires_at=None,
        )

    def _decode(self, row: SigningKeyRecord) -> SigningKey:
        cached = self._decoded.get(row.id)
        private = cached.private if cached is not None else None
        if private is None:
            # Unsealing and importing costs ~1 ms for RSA: done once per key per process.
            private = import_private_jwk(
                json.loads(self._seal.unseal(row.private_sealed, aad=row.id))
            )
        key = SigningKey(
            kid=row.id,
            algorithm=row.algorithm,
            private=private,
            public_jwk=dict(row.public_jwk),
            created_at=row.created_at.timestamp(),
            activated_at=_ts(row.activated_at),
            retired_at=_ts(row.retired_at),
            expires_at=_ts(row.expires_at),
        )
        self._decoded[row.id] = key
        return key


class LocalKeySource:
    """:class:`~authgate.tokens.jwks.KeySource` over the signing key ring's public keys.

    Plugs authgate's own issuer into :class:`~authgate.schemes.bearer.BearerJWTAuthenticator`
    (``key_sources={issuer: LocalKeySource(service)}``): no HTTP, the same published keys
    the JWK Set shows, reloaded from the database when a token names an unknown ``kid``.
    """

    __slots__ = ("_service",)

    def __init__(self, service: SigningKeyService) -> None:
        self._service = service

    async def get_keys(self, kid: str | None) -> KeyRing:
        """The published keys; reloads first when stale or when ``kid`` is unknown.

        Raises:
            InvalidCredentials: no key is published.
        """
        service = self._service
        ring = await service.refresh_if_stale()
        if kid is not None and ring.get(kid) is None:
            ring = await service.refresh_for_kid(kid)
        keys = ring.verification_keys(service.now())
        if not len(keys):
            raise invalid_token("no signing keys")
        return keys
