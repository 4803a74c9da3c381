"""Key/secret exchange: a key pair buys an access token and a refresh token.

The ``POST /auth`` contract (docs/tokens.md): ``{"access_token", "token_type": "Bearer",
"expires_in", "refresh_token"}`` as in an RFC 6749 §5.1 token response; ``POST
/auth/refresh`` rotates the refresh token (RFC 6749 §6, RFC 9700 §4.14.2). Both answer the
uniform 401 for every failure of the credential (unknown key, wrong secret, revoked or
expired key pair, disabled user); the secret is compared in constant time, also for
unknown keys.

Every refresh re-reads the key pair and its owner: a revoked key pair or a disabled user
ends the family's usefulness at once, and scopes the owner lost are dropped.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from authgate.credentials import CredentialResolver
from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.store.db import Database
from authgate.store.models import Credential, User
from authgate.tokens.access import AccessTokenIssuer, IssuedAccessToken
from authgate.tokens.refresh import (
    IssuedRefreshToken,
    RefreshGrant,
    RefreshTokenService,
    invalid_refresh_token,
)

__all__ = ["KeyPairExchange", "TokenPair"]

# Compared against when the key is unknown, so both failures cost one compare_digest.
_DUMMY_SECRET = secrets.token_urlsafe(32).encode()


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access token and the refresh token issued with it."""

    access: IssuedAccessToken
    refresh: IssuedRefreshToken

    def as_json(self) -> dict[str, Any]:
        """The ``POST /auth`` contract shape, exactly."""
        return {
            "access_token": self.access.token,
            "token_type": "Bearer",
            "expires_in": self.access.expires_in,
            "refresh_token": self.refresh.token,
        }

    def __repr__(self) -> str:
        return f"TokenPair(jti={self.access.jti!r}, family={self.refresh.family_id!r})"


class KeyPairExchange:
    """Exchanges key pairs and refresh tokens for token pairs.

    Args:
        db: the database (the refresh path re-reads the key pair and its owner).
        resolver: resolves key pairs (cached, secret unsealed).
        access: issues access tokens.
        refresh: issues and rotates refresh tokens.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        resolver: CredentialResolver,
        access: AccessTokenIssuer,
        refresh: RefreshTokenService,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._resolver = resolver
        self.access = access
        self.refresh = refresh
        self._clock = clock

    async def exchange(self, key: str, secret: str) -> TokenPair:
        """A new token pair (a new refresh family) for a valid key/secret.

        Raises:
            InvalidCredentials: any failure, with the same body.
        """
        pair = await self._resolver.resolve_key_pair(key) if len(key) <= 256 else None
        expected = pair.secret.reveal_bytes() if pair is not None else _DUMMY_SECRET
        matches = hmac.compare_digest(expected, secret.encode("utf-8", "surrogateescape"))
        if pair is None or not matches:
            raise InvalidCredentials(reason="auth: key pair rejected")
        identity = pair.identity
        now = self._clock()
        access = self._issue(identity, identity.scopes, auth_time=now)
        refresh = await self.refresh.issue(
            user_id=identity.principal_id,
            client_id=identity.credential_id or "",
            credential_id=identity.credential_id,
            scopes=identity.scopes,
            auth_time=now,
            access=access,
        )
        return TokenPair(access, refresh)

    async def rotate(
        self,
        token: str,
        *,
        client_id: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> TokenPair:
        """Redeem a refresh token for a new pair.

        Args:
            token: the refresh token.
            client_id: the key pair id the request authenticated with, if it did.
            scopes: narrower scopes, or None to keep them.

        Raises:
            InvalidCredentials: the token or its key pair is no longer valid.
            InvalidScope: wider scopes were asked for.
        """

        async def mint(grant: RefreshGrant) -> IssuedAccessToken:
            identity = await self._current(grant)
            held = set(identity.scopes)
            return self._issue(
                identity, tuple(s for s in grant.scopes if s in held), auth_time=grant.auth_time
            )

        _, refresh, access = await self.refresh.rotate(
            token, mint, client_id=client_id, scopes=scopes
        )
        return TokenPair(access, refresh)

    def _issue(
        self, identity: Identity, scopes: Sequence[str], *, auth_time: float
    ) -> IssuedAccessToken:
        lifetime = None
        if identity.expires_at is not None:
            # Never let a token outlive the key pair it was bought with.
            lifetime = max(1, int(identity.expires_at - self._clock()))
        return self.access.issue(
            subject=identity.principal_id,
            client_id=identity.credential_id or "",
            scopes=scopes,
            username=identity.subject,
            roles=identity.roles,
            auth_time=auth_time,
            lifetime=lifetime,
        )

    async def _current(self, grant: RefreshGrant) -> Identity:
        """The key pair's caller as of now, or the uniform refusal."""
        if grant.credential_id is None:
            raise invalid_refresh_token("family has no key pair")
        async with self._db.session() as s:
            row = (
                await s.execute(
                    select(Credential, User)
                    .join(User, User.id == Credential.user_id)
                    .where(Credential.id == grant.credential_id)
                )
            ).first()
        now = self._clock()
        if row is None:
            raise invalid_refresh_token("key pair gone")
        cred, user = row
        if (
            cred.revoked_at is not None
            or (cred.expires_at is not None and cred.expires_at.timestamp() <= now)
            or user.disabled
            or user.id != grant.user_id
            or cred.type != "key-pair"
        ):
            raise invalid_refresh_token("key pair no longer valid")
        # As the resolver does: a member's key never carries more than the member holds.
        held = set(user.scopes)
        scopes = tuple(
            cred.scopes if user.role == "admin" else (s for s in cred.scopes if s in held)
        )
        return Identity(
            subject=user.name,
            principal_id=user.id,
            scheme="keypair",
            credential_id=cred.id,
            scopes=scopes,
            roles=(user.role,),
            expires_at=cred.expires_at.timestamp() if cred.expires_at else None,
        )
