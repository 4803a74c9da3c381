"""The token service as one unit: configuration, construction order, the bearer scheme.

Wires RFC 9068 access tokens (:mod:`.access`), the signing key ring (:mod:`.signing`,
:mod:`.signing_store`), the ``jti`` deny-list (:mod:`.revocation`), RFC 6749 §6 /
RFC 9700 §4.14.2 refresh tokens (:mod:`.refresh`) and the key/secret exchange
(:mod:`.exchange`). :meth:`TokenServices.open` is what a :class:`~authgate.runtime.Runtime`
calls at start-up (after the database is migrated and Redis is opened);
:func:`authgate.schemes.own_tokens.own_token_authenticator` builds the ``bearer`` entry of
the scheme chain from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from authgate.credentials import CredentialResolver
from authgate.crypto.digest import Digester
from authgate.crypto.sealing import MasterKeyRing
from authgate.store.db import Database
from authgate.tokens.access import AccessTokenIssuer, AccessTokenVerifier
from authgate.tokens.changes import ChangeLog
from authgate.tokens.durable_revocation import DurableRevocationList
from authgate.tokens.exchange import KeyPairExchange
from authgate.tokens.holders import HolderDenyList
from authgate.tokens.refresh import RefreshTokenService
from authgate.tokens.revocation import MemoryRevocationList, RevocationList
from authgate.tokens.signing import DEFAULT_ACCESS_TOKEN_ALGORITHM, SIGNING_ALGORITHMS
from authgate.tokens.signing_store import LocalKeySource, SigningKeyService

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["TokenConfig", "TokenServices"]


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Settings of authgate's own tokens (candidates for ``Settings`` fields).

    Attributes:
        issuer: the ``iss`` of authgate's tokens (its public base URL).
        audience: the ``aud``; None means the issuer itself.
        access_token_lifetime: seconds (the ``expires_in`` of ``POST /auth``).
        refresh_token_lifetime: sliding lifetime of each refresh token, seconds.
        refresh_token_absolute_lifetime: lifetime of a refresh family, seconds.
        access_token_algorithm: ``EdDSA`` (default, cheapest), ``ES256`` or ``RS256``.
        signing_algorithms: algorithms that always have an active key (``RS256`` is
            needed for OIDC ID tokens).
        publish_delay: seconds a new signing key is in the JWK Set before it signs.
        jwks_max_age: ``Cache-Control: max-age`` of the JWK Set; must be shorter than
            ``publish_delay`` so caches pick a new key up before it is used.
        key_refresh_interval: the longest an instance goes without reloading the keys.
        leeway: clock skew accepted when verifying, seconds.
    """

    issuer: str
    audience: str | None = None
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 30 * 86400
    refresh_token_absolute_lifetime: int = 90 * 86400
    access_token_algorithm: str = DEFAULT_ACCESS_TOKEN_ALGORITHM
    signing_algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    publish_delay: float = 900.0
    jwks_max_age: int = 300
    key_refresh_interval: float = 60.0
    leeway: int = 30

    def __post_init__(self) -> None:
        if self.jwks_max_age + self.key_refresh_interval >= self.publish_delay:
            raise ValueError("jwks_max_age + key_refresh_interval must be below publish_delay")
        if self.access_token_algorithm not in self.signing_algorithms:
            raise ValueError("access_token_algorithm must be one of signing_algorithms")


@dataclass
class TokenServices:
    """Everything that issues and checks authgate's own tokens."""

    config: TokenConfig
    signing: SigningKeyService
    access: AccessTokenIssuer
    revocation: RevocationList
    refresh: RefreshTokenService
    exchange: KeyPairExchange
    verifier: AccessTokenVerifier
    holders: HolderDenyList = field(default_factory=HolderDenyList)
    changes: ChangeLog = field(default_factory=ChangeLog)

    @classmethod
    async def open(
        cls,
        config: TokenConfig,
        *,
        db: Database,
        digester: Digester,
        master_keys: MasterKeyRing,
        resolver: CredentialResolver,
        redis: Redis | None = None,
        changes: ChangeLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> TokenServices:
        """Build the services and load (creating if needed) the signing keys.

        Call after the database is migrated. With ``changes`` the ``jti`` deny-list is
        durable (database, rebuilt at start-up, shared through the change feed); without
        it, ``redis`` shares it between instances, else it is this instance's memory.
        """
        revocation: RevocationList
        if changes is not None:
            revocation = DurableRevocationList(db, changes, clock=clock)
        elif redis is not None:
            from authgate.tokens.redis_revocation import RedisRevocationList  # the redis extra

            revocation = RedisRevocationList(redis, clock=clock)
        else:
            revocation = MemoryRevocationList(clock=clock)
        holders = HolderDenyList(clock=clock)
        signing = SigningKeyService(
            db,
            master_keys,
            algorithms=config.signing_algorithms,
            publish_delay=config.publish_delay,
            max_token_lifetime=config.access_token_lifetime + config.leeway,
            refresh_interval=config.key_refresh_interval,
            clock=clock,
        )
        await signing.start()
        access = AccessTokenIssuer(
            signing,
            issuer=config.issuer,
            audience=config.audience or config.issuer,
            lifetime=config.access_token_lifetime,
            algorithm=config.access_token_algorithm,
            leeway=config.leeway,
            clock=clock,
        )
        refresh = RefreshTokenService(
            db,
            digester,
            revocation,
            lifetime=config.refresh_token_lifetime,
            absolute_lifetime=config.refresh_token_absolute_lifetime,
            clock=clock,
        )
        exchange = KeyPairExchange(db, resolver, access, refresh, clock=clock)
        verifier = AccessTokenVerifier(
            access.issuer_config(),
            LocalKeySource(signing),
            revocation,
            clock=clock,
            holders=holders,
        )
        return cls(
            config,
            signing,
            access,
            revocation,
            refresh,
            exchange,
            verifier,
            holders,
            changes if changes is not None else ChangeLog(clock=clock),
        )
