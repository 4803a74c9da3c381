"""Opaque refresh tokens with rotation on every use and family-wide reuse detection.

RFC 6749 §6 (refreshing an access token: the new scope must not exceed the original, the
token is bound to the client it was issued to), §10.4 (refresh tokens must be kept
confidential and may be rotated); RFC 9700 §4.14.2 (refresh token rotation: every use
yields a new token, and presenting an already used one revokes the whole family, because
either the legitimate client or an attacker holds a stolen copy).

Tokens look like the other authgate secrets (``agr_`` prefix, ~178 random bits, CRC32
checksum, see :mod:`authgate.crypto.keys`) and only a keyed digest (HMAC-SHA256 under the
server's digest key) is stored. Every token of a family shares its ``absolute_expires_at``;
each one also has a sliding ``expires_at``. Each row remembers the ``jti`` of the access
token issued with it, so revoking a family also denies those access tokens until they
expire. Rotation is one transaction (conditional ``UPDATE ... WHERE used_at IS NULL``
plus the new row), committed before the response: two concurrent uses of one token
cannot both succeed, and the loser is treated as a replay.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update

from authgate.crypto.digest import Digester
from authgate.crypto.keys import generate_key, is_well_formed
from authgate.errors import InvalidCredentials, InvalidScope
from authgate.store.db import Database
from authgate.store.models_tokens import RefreshTokenRecord
from authgate.timefmt import utc_datetime
from authgate.tokens.access import IssuedAccessToken
from authgate.tokens.changes import Change
from authgate.tokens.durable_revocation import DurableRevocationList
from authgate.tokens.revocation import RevocationList

__all__ = [
    "REFRESH_TOKEN_PREFIX",
    "IssuedRefreshToken",
    "RefreshGrant",
    "RefreshTokenService",
    "invalid_refresh_token",
]

REFRESH_TOKEN_PREFIX = "agr_"  # noqa: S105 - a prefix, not a secret
_DIGEST_PURPOSE = "refresh-token"
log = logging.getLogger("authgate.tokens")


def invalid_refresh_token(reason: str) -> InvalidCredentials:
    """The uniform failure for unknown, expired, used, revoked and foreign tokens."""
    return InvalidCredentials(reason=f"refresh: {reason}")


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """What a valid refresh token stands for.

    Attributes:
        token_id: the row id of the token presented.
        family_id: the rotation family.
        user_id: the principal.
        credential_id: the key pair the family was obtained with, if any.
        client_id: the client the family is bound to.
        scopes: the scopes of the family (the ceiling for every refresh).
        auth_time: when the principal originally authenticated.
    """

    token_id: str
    family_id: str
    user_id: str
    credential_id: str | None
    client_id: str
    scopes: tuple[str, ...]
    auth_time: float


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    """A new refresh token: the only moment it exists in clear."""

    token: str
    id: str
    family_id: str
    expires_at: float

    def __repr__(self) -> str:
        return f"IssuedRefreshToken(id={self.id!r}, family_id={self.family_id!r}, token=***)"


Mint = Callable[[RefreshGrant], Awaitable[IssuedAccessToken]]


class RefreshTokenService:
    """Issue, rotate and revoke refresh tokens.

    Args:
        db: the database.
        digester: the keyed digest (HMAC) of tokens.
        revocation: the access-token deny-list (for families revoked on replay).
        lifetime: sliding lifetime of each token, seconds.
        absolute_lifetime: lifetime of a family from its first token, seconds.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        digester: Digester,
        revocation: RevocationList,
        *,
        lifetime: float = 30 * 86400,
        absolute_lifetime: float = 90 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < lifetime <= absolute_lifetime:
            raise ValueError("need 0 < lifetime <= absolute_lifetime")
        self._db = db
        self._digester = digester
        self.revocation = revocation
        self.lifetime = lifetime
        self.absolute_lifetime = absolute_lifetime
        self._clock = clock

    def digest(self, token: str) -> str:
        """The stored form of a token."""
        return self._digester.digest(token, purpose=_DIGEST_PURPOSE)

    async def issue(
        self,
        *,
        user_id: str,
        client_id: str,
        scopes: Sequence[str],
        credential_id: str | None = None,
        auth_time: float | None = None,
        access: IssuedAccessToken | None = None,
    ) -> IssuedRefreshToken:
        """Start a new family with its first token (committed before returning)."""
        now = self._clock()
        family_id = uuid.uuid4().hex
        record, issued = self._new_record(
            family_id=family_id,
            user_id=user_id,
            credential_id=credential_id,
            client_id=client_id,
            scopes=list(scopes),
            auth_time=now if auth_time is None else auth_time,
            absolute_expires_at=now + self.absolute_lifetime,
            access=access,
            now=now,
        )
        async with self._db.session() as s, s.begin():
            s.add(record)
        return issued

    async def rotate(
        self,
        token: str,
        mint: Mint,
        *,
        client_id: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> tuple[RefreshGrant, IssuedRefreshToken, IssuedAccessToken]:
        """Redeem ``token``: mark it used and issue its successor with a new access token.

        Args:
            token: the refresh token presented.
            mint: issues the access token for the (possibly narrowed) grant; may raise
                to refuse (e.g. the key pair was revoked meanwhile).
            client_id: the authenticated client, or None when the request carried no
                client credentials (the token alone then proves possession).
            scopes: the scopes asked for; None keeps the family's scopes.

        Returns:
            The grant, the new refresh token and the new access token.

        Raises:
            InvalidCredentials: unknown, malformed, expired, revoked, replayed or foreign.
            InvalidScope: ``scopes`` exceeds the family's scopes.
        """
        if not is_well_formed(token, REFRESH_TOKEN_PREFIX):
            raise invalid_refresh_token("malformed")
        async with self._db.session() as s:
            row = await s.scalar(
                select(RefreshTokenRecord).where(RefreshTokenRecord.digest == self.digest(token))
            )
        if row is None:
            raise invalid_refresh_token("unknown")
        now = self._clock()
        if row.revoked_at is not None:
            raise invalid_refresh_token("revoked")
        if row.used_at is not None:
            await self.revoke_family(row.family_id)
            log.warning("refresh token replayed: family %s revoked", row.family_id)
            raise invalid_refresh_token("replayed; family revoked")
        if now >= row.expires_at.timestamp() or now >= row.absolute_expires_at.timestamp():
            raise invalid_refresh_token("expired")
        if client_id is not None and client_id != row.client_id:
            raise invalid_refresh_token("issued to another client")
        granted = tuple(row.scopes)
        if scopes is not None:
            extra = sorted(set(scopes) - set(granted))
            if extra:
                raise InvalidScope(f"the refresh token does not grant: {' '.join(extra)}")
            granted = tuple(s for s in granted if s in set(scopes))
        grant = RefreshGrant(
            row.id,
            row.family_id,
            row.user_id,
            row.credential_id,
            row.client_id,
            granted,
            row.auth_time.timestamp(),
        )
        access = await mint(grant)
        record, issued = self._new_record(
            family_id=row.family_id,
            user_id=row.user_id,
            credential_id=row.credential_id,
            client_id=row.client_id,
            scopes=list(granted),
            auth_time=grant.auth_time,
            absolute_expires_at=row.absolute_expires_at.timestamp(),
            access=access,
            now=now,
        )
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(RefreshTokenRecord)
                .where(
                    RefreshTokenRecord.id == row.id,
                    RefreshTokenRecord.used_at.is_(None),
                    RefreshTokenRecord.revoked_at.is_(None),
                )
                .values(used_at=utc_datetime(now), replaced_by=record.id)
            )
            won = getattr(result, "rowcount", 0) == 1
            if won:
                s.add(record)
        if not won:
            # A concurrent redemption of the same token got there first: a replay.
            await self.revocation.revoke(access.jti, access.expires_at)
            await self.revoke_family(row.family_id)
            raise invalid_refresh_token("concurrent reuse; family revoked")
        return grant, issued, access

    async def revoke(self, token: str) -> bool:
        """Revoke the family of ``token`` (RFC 7009 §2.1); False when it is unknown."""
        if not is_well_formed(token, REFRESH_TOKEN_PREFIX):
            return False
        async with self._db.session() as s:
            family = await s.scalar(
                select(RefreshTokenRecord.family_id).where(
                    RefreshTokenRecord.digest == self.digest(token)
                )
            )
        if family is None:
            return False
        await self.revoke_family(family)
        return True

    async def revoke_credential(self, credential_id: str) -> int:
        """Revoke every family obtained with a key pair (call when it is revoked or rotated
        without grace), denying their access tokens too; returns how many were denied."""
        return await self._revoke_families(RefreshTokenRecord.credential_id == credential_id)

    async def revoke_client(self, client_id: str) -> int:
        """Revoke every family bound to an OAuth client (its owner was disabled)."""
        return await self._revoke_families(RefreshTokenRecord.client_id == client_id)

    async def revoke_user(self, user_id: str) -> int:
        """Revoke every family of a user (call when the user is disabled), denying their
        access tokens too; returns how many were denied."""
        return await self._revoke_families(RefreshTokenRecord.user_id == user_id)

    async def _revoke_families(self, condition: ColumnElement[bool]) -> int:
        async with self._db.session() as s:
            families = (
                await s.scalars(select(RefreshTokenRecord.family_id).where(condition).distinct())
            ).all()
        denied = 0
        for family_id in families:
            denied += await self.revoke_family(family_id)
        return denied

    async def revoke_family(self, family_id: str) -> int:
        """Revoke every token of a family and deny the access tokens issued with them.

        Returns:
            The number of access tokens put on the deny-list.

        Raises:
            RevocationUnavailable: the shared deny-list could not record them (the
                refresh tokens are revoked nonetheless).
        """
        now = self._clock()
        durable = self.revocation if isinstance(self.revocation, DurableRevocationList) else None
        staged: list[Change] = []
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(RefreshTokenRecord)
                .where(
                    RefreshTokenRecord.family_id == family_id,
                    RefreshTokenRecord.revoked_at.is_(None),
                )
                .values(revoked_at=utc_datetime(now))
            )
            live = (
                await s.execute(
                    select(
                        RefreshTokenRecord.access_jti, RefreshTokenRecord.access_expires_at
                    ).where(
                        RefreshTokenRecord.family_id == family_id,
                        RefreshTokenRecord.access_jti.is_not(None),
                        RefreshTokenRecord.access_expires_at > utc_datetime(now),
                    )
                )
            ).all()
            if durable is not None:  # the access tokens are denied in the same transaction
                for jti, expires_at in live:
                    if jti is not None and expires_at is not None:
                        change = await durable.stage(s, jti, expires_at.timestamp())
                        if change is not None:
                            staged.append(change)
        if durable is not None:
            await durable.applied(*staged)
            return len(live)
        for jti, expires_at in live:
            if jti is not None and expires_at is not None:
                await self.revocation.revoke(jti, expires_at.timestamp())
        return len(live)

    def _new_record(
        self,
        *,
        family_id: str,
        user_id: str,
        credential_id: str | None,
        client_id: str,
        scopes: list[str],
        auth_time: float,
        absolute_expires_at: float,
        access: IssuedAccessToken | None,
        now: float,
    ) -> tuple[RefreshTokenRecord, IssuedRefreshToken]:
        token = generate_key(REFRESH_TOKEN_PREFIX)
        expires_at = min(now + self.lifetime, absolute_expires_at)
        record = RefreshTokenRecord(
            id=uuid.uuid4().hex,
            family_id=family_id,
            digest=self.digest(token),
            user_id=user_id,
            credential_id=credential_id,
            client_id=client_id,
            scopes=scopes,
            created_at=utc_datetime(now),
            expires_at=utc_datetime(expires_at),
            absolute_expires_at=utc_datetime(absolute_expires_at),
            auth_time=utc_datetime(auth_time),
            used_at=None,
            revoked_at=None,
            replaced_by=None,
            access_jti=access.jti if access is not None else None,
            access_expires_at=utc_datetime(access.expires_at) if access is not None else None,
        )
        return record, IssuedRefreshToken(token, record.id, family_id, expires_at)
