"""The credential resolver the schemes use: cache first, database on a miss.

This is the verification hot path. A cached API key costs one well-formedness check,
one HMAC and a dict lookup; the database is touched only on the first sight of a key
(per instance and TTL). Basic passwords pay argon2 once per TTL, not per request.
Unknown keys are remembered in a bounded negative cache, so garbage cannot reach the
database twice.

A password is never enough on its own for an account with a confirmed second factor
(docs/security.md): :meth:`StoreResolver.check_password` reports the factor with the match (read
in the same query as the user, cached with it, dropped when a factor is confirmed or
removed), and :meth:`StoreResolver.resolve_password` — the password-alone path of the
schemes — refuses such an account with
:class:`~authgate.errors.SecondFactorRequired`, cached hit or not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, exists, select, update

from authgate.accounts.caches import CredentialCache, NegativeCache
from authgate.accounts.lookup import fill, load_owned
from authgate.credentials import KeyPairCredential
from authgate.crypto.digest import Digester
from authgate.crypto.keys import API_KEY_PREFIX, KEY_PAIR_KEY_PREFIX, is_well_formed
from authgate.crypto.passwords import MAX_PASSWORD_LENGTH, PasswordHasher
from authgate.crypto.sealing import MasterKeyRing, SealError
from authgate.crypto.secret import Secret
from authgate.errors import SecondFactorRequired
from authgate.identity import Identity
from authgate.scopes import user_scopes
from authgate.store.db import Database
from authgate.store.models import Credential, User
from authgate.store.models_mfa import TotpFactor

__all__ = ["PasswordMatch", "SigV4Credentials", "StoreResolver", "UsageRecorder"]


class UsageRecorder:
    """Collects ``last_used_at`` in memory and writes it in batches."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: dict[str, float] = {}

    def touch(self, credential_id: str) -> None:
        self._pending[credential_id] = time.time()

    async def flush(self) -> int:
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        params = [{"cid": cid, "at": datetime.fromtimestamp(ts, UTC)} for cid, ts in batch.items()]
        stmt = (
            update(Credential)
            .where(Credential.id == bindparam("cid"))
            .values(last_used_at=bindparam("at"))
            .execution_options(synchronize_session=False)
        )
        async with self._db.engine.begin() as conn:
            await conn.execute(stmt, params)
        return len(params)


@dataclass(frozen=True, slots=True)
class _Verified:
    identity: Identity
    expires_at: float  # the credential's own expiry (inf when none)


@dataclass(frozen=True, slots=True)
class PasswordMatch:
    """A right password: whose, and whether a second factor must follow it.

    Attributes:
        identity: the user, as a password login (``scheme="basic"``, no credential id).
        second_factor: the user has a confirmed TOTP factor; the password alone must not
            authenticate them anywhere.
    """

    identity: Identity
    second_factor: bool


@dataclass(frozen=True, slots=True)
class _VerifiedPair:
    credential: KeyPairCredential
    expires_at: float


def _effective_scopes(cred: Credential, user: User) -> tuple[str, ...]:
    # A member's key never carries more than the member holds now (scopes can shrink).
    if user.role == "admin":
        return tuple(cred.scopes)
    return tuple(s for s in cred.scopes if s in set(user.scopes))


class StoreResolver:
    """:class:`~authgate.credentials.CredentialResolver` over the store, with caches."""

    def __init__(
        self,
        db: Database,
        digester: Digester,
        master_keys: MasterKeyRing,
        hasher: PasswordHasher,
        usage: UsageRecorder,
        *,
        ttl: float = 10.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
        max_concurrent_hashes: int = 2,
    ) -> None:
        self._db = db
        self._digester = digester
        self._ring = master_keys
        self._hasher = hasher
        self._usage = usage
        self._clock = clock
        self.keys: CredentialCache[_Verified] = CredentialCache(ttl, max_entries)
        self.pairs: CredentialCache[_VerifiedPair] = CredentialCache(ttl, max_entries)
        self.passwords: CredentialCache[PasswordMatch] = CredentialCache(ttl, max_entries)
        self.unknown = NegativeCache()
        self._listeners: list[Callable[[], None]] = []
        self._hashing = asyncio.Semaphore(max_concurrent_hashes)
        # bumped by every invalidation: a lookup that started before one must not cache
        # what it read (the credential may have been revoked while it waited)
        self.epoch = 0

    # -- invalidation (called by the services on this instance, and by the bus) -------

    def invalidate_credential(self, credential_id: str) -> None:
        self.keys.invalidate_credential(credential_id)
        self.pairs.invalidate_credential(credential_id)
        self._notify()

    def invalidate_principal(self, principal_id: str) -> None:
        self.keys.invalidate_principal(principal_id)
        self.pairs.invalidate_principal(principal_id)
        self.passwords.invalidate_principal(principal_id)
        self._notify()

    def invalidate_all(self) -> None:
        self.keys.clear()
        self.pairs.clear()
        self.passwords.clear()
        self._notify()

    def on_invalidate(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever anything is invalidated (e.g. to clear caches above)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        self.epoch += 1
        for listener in self._listeners:
            listener()

    # -- CredentialResolver -------------------------------------------------------------

    async def resolve_api_key(self, key: str) -> Identity | None:
        # Hot path: one HMAC and a dict lookup. The format check (checksum) runs only
        # on a miss, to keep garbage away from the database.
        digest = self._digester.digest(key)
        hit = self.keys.get(digest)
        if hit is None:
            hit = await fill(
                self.keys,
                self.unknown,
                digest,
                lambda: self._load_api_key(key, digest),
                lambda v: v.identity,
                epoch=lambda: self.epoch,
            )
            if hit is None:
                return None
        if hit.expires_at <= self._clock():
            return None
        self._usage.touch(hit.identity.credential_id or "")
        return hit.identity

    async def resolve_key_pair(
        self, key: str, *, allow_session: bool = False
    ) -> KeyPairCredential | None:
        """A live key pair; with ``allow_session`` also temporary (SigV4 session) ones,
        whose identity carries ``claims["session"] = True``."""
        digest = self._digester.digest(key)
        hit = self.pairs.get(digest)
        if hit is not None and hit.credential.identity.claims.get("session") and not allow_session:
            return None
        if hit is None:
            hit = await fill(
                self.pairs,
                self.unknown,
                digest,
                lambda: self._load_key_pair(key, digest, allow_session),
                lambda v: v.credential.identity,
                epoch=lambda: self.epoch,
            )
            if hit is None:
                return None
        if hit.expires_at <= self._clock():
            return None
        self._usage.touch(hit.credential.identity.credential_id or "")
        return hit.credential

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        """The user of a right password, for schemes that have nothing but the password.

        Raises:
            SecondFactorRequired: the password is right but the user has a confirmed
                second factor (checked after the password, so no oracle of enrolment).
        """
        match = await self.check_password(username, password)
        if match is None:
            return None
        if match.second_factor:
            raise SecondFactorRequired(reason="password alone for an account with TOTP")
        return match.identity

    async def check_password(self, username: str, password: str) -> PasswordMatch | None:
        """Verify a user's password (argon2id off the event loop, a few at a time, cached).

        Every password check of the server goes through here, so all of them share the
        bounded hashing below. The caller decides what a ``second_factor`` match needs.
        """
        if len(password) > MAX_PASSWORD_LENGTH or len(username) > 128:
            return None
        cache_key = self._digester.digest(f"{username}\0{password}", purpose="basic")
        hit = self.passwords.get(cache_key)
        if hit is not None:
            return hit
        epoch = self.epoch
        confirmed = (
            exists()
            .where(TotpFactor.user_id == User.id, TotpFactor.confirmed_at.is_not(None))
            .correlate(User)
        )
        async with self._db.session() as s:
            row = (
                await s.execute(select(User, confirmed.label("mfa")).where(User.name == username))
            ).first()
        user, second_factor = (row[0], bool(row[1])) if row is not None else (None, False)
        stored = user.password_hash if user is not None and not user.disabled else None
        # always one argon2 verification, so unknown users cost the same as wrong passwords;
        # in a worker thread (it takes ~70 ms and 32 MiB) and at most a few at a time, so
        # a flood of wrong passwords cannot stall every other request on this instance
        async with self._hashing:
            ok = await asyncio.to_thread(self._hasher.verify, stored, password)
        if not ok or user is None or stored is None:
            return None
        if self._hasher.needs_rehash(stored):
            await self._rehash(user.id, password)
        identity = Identity(
            subject=user.name,
            principal_id=user.id,
            scheme="basic",
            scopes=user_scopes(user.role, user.scopes),  # + authgate:admin for an admin
            roles=(user.role,),
        )
        match = PasswordMatch(identity, second_factor)
        # a factor confirmed meanwhile bumps the epoch: what was read then is not cached
        if epoch == self.epoch:
            self.passwords.put(cache_key, match, principal_id=user.id, credential_id=None)
        return match

    # -- helpers ------------------------------------------------------------------------

    async def _load_api_key(self, key: str, digest: str) -> _Verified | None:
        if not is_well_formed(key, API_KEY_PREFIX):
            return None  # garbage never reaches the database
        row = await self._load(digest, "api-key")
        if row is None:
            return None
        cred, user = row
        return _Verified(self._identity(cred, user, "apikey"), _ts(cred.expires_at))

    async def _load_key_pair(
        self, key: str, digest: str, allow_session: bool
    ) -> _VerifiedPair | None:
        if not is_well_formed(key, KEY_PAIR_KEY_PREFIX):
            return None
        types = ("key-pair", "session") if allow_session else ("key-pair",)
        row = await self._load(digest, *types)
        if row is None:
            return None
        cred, user = row
        try:
            secret = self._ring.unseal(cred.secret_sealed or "", aad=cred.id)
        except SealError:
            return None
        identity = self._identity(cred, user, "keypair")
        if cred.type == "session":
            identity = dataclasses.replace(identity, claims={"session": True})
        return _VerifiedPair(KeyPairCredential(key, Secret(secret), identity), _ts(cred.expires_at))

    async def _load(self, digest: str, *types: str) -> tuple[Credential, User] | None:
        row = await load_owned(
            self._db,
            Credential,
            Credential.key_digest == digest,
            # neither can ever become valid again: keep retries away from the database
            dead=lambda cred, _user: cred.revoked_at is not None or self._expired(cred),
            unknown=self.unknown,
            cache_key=digest,
        )
        if row is None or row[0].type not in types or row[1].disabled:
            return None
        return row

    def _expired(self, cred: Credential) -> bool:
        return cred.expires_at is not None and cred.expires_at.timestamp() <= self._clock()

    @staticmethod
    def _identity(cred: Credential, user: User, scheme: str) -> Identity:
        return Identity(
            subject=user.name,
            principal_id=user.id,
            scheme=scheme,
            credential_id=cred.id,
            scopes=_effective_scopes(cred, user),
            roles=(user.role,),
            expires_at=cred.expires_at.timestamp() if cred.expires_at else None,
        )

    async def _rehash(self, user_id: str, password: str) -> None:
        async with self._hashing:  # off the loop and bounded, as the verification
            password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash)
            )


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("inf")


class SigV4Credentials:
    """What SigV4 resolves keys through: key pairs and temporary (session) credentials.

    Also the :class:`~authgate.schemes.sigv4.SessionTokenVerifier`: a session token is
    valid only for the temporary credential it was issued with (it is an HMAC of the
    credential's id and key under the server's digest key).
    """

    def __init__(self, resolver: StoreResolver, session_token: Callable[[str, str], str]):
        self._resolver = resolver
        self._session_token = session_token

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return await self._resolver.resolve_key_pair(key, allow_session=True)

    async def verify(self, token: str, key: str) -> bool:
        pair = await self._resolver.resolve_key_pair(key, allow_session=True)
        if pair is None or not pair.identity.claims.get("session"):
            return False  # a long-term key never comes with a session token
        expected = self._session_token(pair.identity.credential_id or "", key)
        return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
