"""Looks up registered public keys and client certificates for the schemes.

Implements :class:`~authgate.credentials.PublicKeyResolver` (RFC 9421 ed25519/ecdsa,
OAuth 1.0a RSA-SHA256) and the certificate lookup the mTLS scheme needs. Hits are kept in
a short TTL cache; misses in a bounded negative cache so garbage key ids and unknown
certificates reach the database once per TTL. ``invalidate()`` drops both, and is called
on every change on this instance (other instances converge within the TTL).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement

from authgate.accounts.caches import CredentialCache, NegativeCache
from authgate.accounts.lookup import fill, load_owned
from authgate.credentials import PublicKeyCredential
from authgate.identity import Identity
from authgate.scopes import user_scopes
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_pki import ClientCertificate, PublicKey

__all__ = ["PkiResolver"]

_Row = TypeVar("_Row", PublicKey, ClientCertificate)
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_KEY_ID = 200


@dataclass(frozen=True, slots=True)
class _Cert:
    identity: Identity
    not_before: float
    not_after: float


def _identity(
    user: User,
    scheme: str,
    credential_id: str,
    claims: dict[str, str] | None = None,
    expires_at: float | None = None,
) -> Identity:
    # A public key or certificate carries exactly the scopes its owner holds now, like
    # a password login (an admin's: with authgate:admin).
    return Identity(
        subject=user.name,
        principal_id=user.id,
        scheme=scheme,
        credential_id=credential_id,
        scopes=user_scopes(user.role, user.scopes),
        roles=(user.role,),
        claims=claims or {},
        expires_at=expires_at,
    )


def _dead(row: PublicKey | ClientCertificate, user: User) -> bool:
    # a disabled owner is remembered as unknown too, until the TTL or the next
    # invalidate() (which every user change on this instance calls)
    return row.revoked_at is not None or user.disabled


class PkiResolver:
    """Public keys by key id and certificates by SHA-256 thumbprint, with caches.

    Args:
        db: the store.
        ttl: seconds a lookup (hit or miss) is reused.
        max_entries: bound of each cache.
        clock: current Unix time, for certificate validity; injected for tests.
    """

    def __init__(
        self,
        db: Database,
        *,
        ttl: float = 10.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._clock = clock
        self.keys: CredentialCache[PublicKeyCredential] = CredentialCache(ttl, max_entries)
        self.certs: CredentialCache[_Cert] = CredentialCache(ttl, max_entries)
        self._ttl = ttl
        self._max = max_entries
        self.unknown = NegativeCache(ttl=ttl, max_entries=max_entries)

    def invalidate(self) -> None:
        """Forget every cached lookup (after an add, a revocation, a user change)."""
        self.keys.clear()
        self.certs.clear()
        self.unknown = NegativeCache(ttl=self._ttl, max_entries=self._max)

    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        """The live public key registered as ``key_id``; None when unknown, revoked or
        its owner is disabled."""
        if not key_id or len(key_id) > _MAX_KEY_ID:
            return None
        cache_key = "k:" + key_id
        hit = self.keys.get(cache_key)
        if hit is not None:
            return hit
        return await fill(
            self.keys,
            self.unknown,
            cache_key,
            lambda: self._load_public_key(key_id, cache_key),
            lambda cred: cred.identity,
        )

    async def resolve_certificate(self, thumbprint_hex: str) -> Identity | None:
        """The identity a registered client certificate stands for.

        Args:
            thumbprint_hex: SHA-256 of the certificate's DER, in hex (either case).

        Returns:
            None when the thumbprint is malformed or unknown, the certificate revoked,
            outside its validity period, or its owner disabled.
        """
        thumbprint = thumbprint_hex.lower()
        if not _HEX_SHA256.fullmatch(thumbprint):
            return None
        cache_key = "c:" + thumbprint
        hit = self.certs.get(cache_key)
        if hit is None:
            hit = await fill(
                self.certs,
                self.unknown,
                cache_key,
                lambda: self._load_certificate(thumbprint, cache_key),
                lambda cert: cert.identity,
            )
            if hit is None:
                return None
        now = self._clock()
        if not hit.not_before <= now < hit.not_after:
            return None
        return hit.identity

    async def _load(
        self, model: type[_Row], condition: ColumnElement[bool], cache_key: str
    ) -> tuple[_Row, User] | None:
        return await load_owned(
            self._db, model, condition, dead=_dead, unknown=self.unknown, cache_key=cache_key
        )

    async def _load_public_key(self, key_id: str, cache_key: str) -> PublicKeyCredential | None:
        row = await self._load(PublicKey, PublicKey.key_id == key_id, cache_key)
        if row is None:
            return None
        key, user = row
        return PublicKeyCredential(
            key_id=key.key_id,
            public_key_pem=key.public_key_pem.encode("ascii"),
            algorithm=key.algorithm,
            identity=_identity(user, "publickey", key.id),
        )

    async def _load_certificate(self, thumbprint: str, cache_key: str) -> _Cert | None:
        condition = ClientCertificate.thumbprint_sha256 == thumbprint
        row = await self._load(ClientCertificate, condition, cache_key)
        if row is None:
            return None
        cert, user = row
        x5t = base64.urlsafe_b64encode(bytes.fromhex(thumbprint)).rstrip(b"=").decode("ascii")
        not_after = cert.not_after.timestamp()
        claims = {"x5t#S256": x5t, "certificate_subject": cert.subject}
        identity = _identity(user, "mtls", cert.id, claims, expires_at=not_after)
        return _Cert(identity, cert.not_before.timestamp(), not_after)
