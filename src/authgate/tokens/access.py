"""authgate's own access tokens: JWTs in the RFC 9068 profile, issued and verified.

RFC 9068 §2 (``typ: at+jwt``; ``iss``, ``exp``, ``aud``, ``sub``, ``client_id``, ``iat``,
``jti`` required; ``scope`` §2.2.3; ``auth_time``/``acr`` §2.2.1; ``roles`` §2.2.3.1),
RFC 7519 §4.1 (registered claims), RFC 8725 (JWT BCP), RFC 6750 (bearer usage).

The claim set is exact: :data:`ACCESS_TOKEN_CLAIMS` always, :data:`OPTIONAL_CLAIMS` when
known. ``sub`` is the user's stable id (names can change, ids cannot: RFC 9068 §2.2
and OIDC Core §5.7 warn against reassignable subjects); the user name travels in
``preferred_username`` (OIDC Core §5.1) and ``client_id`` names the credential the token
was obtained with (for a key/secret exchange, the key pair's id). Verification reuses
:class:`~authgate.tokens.verify.TokenVerifier` with authgate's issuer
(:meth:`AccessTokenIssuer.issuer_config`) and a
:class:`~authgate.tokens.signing_store.LocalKeySource`, then asks the
:class:`~authgate.tokens.revocation.RevocationList` about the ``jti``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from authgate.crypto.digest import Digester
from authgate.identity import Identity
from authgate.tokens.claims import invalid_token
from authgate.tokens.holders import HolderDenyList
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.jwks import KeySource
from authgate.tokens.revocation import RevocationList
from authgate.tokens.signing import (
    DEFAULT_ACCESS_TOKEN_ALGORITHM,
    SIGNING_ALGORITHMS,
    SigningKeyRing,
)
from authgate.tokens.verify import TokenVerifier

__all__ = [
    "ACCESS_TOKEN_CLAIMS",
    "OPTIONAL_CLAIMS",
    "AccessTokenIssuer",
    "AccessTokenVerifier",
    "IssuedAccessToken",
    "SigningKeys",
    "identity_from_access_token",
]

#: Claims every authgate access token carries (RFC 9068 §2.2, plus ``scope``).
ACCESS_TOKEN_CLAIMS = ("iss", "sub", "aud", "client_id", "scope", "jti", "iat", "exp")
#: Claims carried when known: authentication facts (§2.2.1) and identity attributes.
OPTIONAL_CLAIMS = ("auth_time", "acr", "preferred_username", "roles", "cnf")


class SigningKeys(Protocol):
    """Anything holding the current signing key ring (the store's service, or a test's)."""

    @property
    def ring(self) -> SigningKeyRing: ...


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    """A freshly signed access token.

    Attributes:
        token: the compact JWS.
        jti: its unique id (what the revocation list denies).
        expires_at: its ``exp`` (seconds since the epoch).
        expires_in: its lifetime in seconds (the token response's ``expires_in``).
    """

    token: str
    jti: str
    expires_at: int
    expires_in: int

    def __repr__(self) -> str:
        return f"IssuedAccessToken(jti={self.jti!r}, expires_at={self.expires_at}, token=***)"


class AccessTokenIssuer:
    """Signs RFC 9068 access tokens with the active key of one algorithm.

    Args:
        keys: holds the signing key ring.
        issuer: the ``iss`` value (authgate's issuer identifier, an https URL in production).
        audience: the ``aud`` value (the resource server(s) the tokens are for).
        lifetime: seconds from ``iat`` to ``exp``.
        algorithm: the JWS algorithm (default ``EdDSA``).
        leeway: clock skew accepted by the verifier, seconds.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        audience: str,
        lifetime: int = 3600,
        algorithm: str = DEFAULT_ACCESS_TOKEN_ALGORITHM,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if algorithm not in SIGNING_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {SIGNING_ALGORITHMS}")
        if lifetime <= 0:
            raise ValueError("lifetime must be positive")
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self.algorithm = algorithm
        self.leeway = leeway
        self._clock = clock

    def issuer_config(self) -> IssuerConfig:
        """authgate's issuer as the bearer verifier sees it (keys from a local source)."""
        return IssuerConfig(
            issuer=self.issuer,
            audiences=(self.audience,),
            algorithms=SIGNING_ALGORITHMS,
            leeway=self.leeway,
            required_claims=("exp", "iat", "iss", "sub", "aud", "client_id", "jti"),
            roles_claim="roles",
            require_at_jwt=True,
        )

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        scopes: Sequence[str],
        username: str | None = None,
        roles: Sequence[str] = (),
        auth_time: float | None = None,
        acr: str | None = None,
        lifetime: int | None = None,
        x5t_s256: str | None = None,
    ) -> IssuedAccessToken:
        """Sign a new access token.

        Args:
            subject: ``sub``: the principal's stable id.
            client_id: ``client_id``: the credential (key pair or OAuth client) used.
            scopes: granted scopes (``scope``, space-separated).
            username: ``preferred_username``, when known.
            roles: ``roles``, when any.
            auth_time: when the user (or key) authenticated, seconds since the epoch.
            acr: the authentication context class reference.
            lifetime: overrides the configured lifetime (never longer).
            x5t_s256: binds the token to this client certificate (RFC 8705 §3.1:
                ``cnf: {"x5t#S256": ...}``).

        Returns:
            The token, its ``jti`` and expiry.

        Raises:
            NoSigningKey: no key of the configured algorithm is active.
        """
        life = self.lifetime if lifetime is None else min(lifetime, self.lifetime)
        now = self._clock()
        iat = int(now)
        jti = secrets.token_urlsafe(18)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "jti": jti,
            "iat": iat,
            "exp": iat + life,
        }
        if auth_time is not None:
            claims["auth_time"] = math.floor(auth_time)
        if acr is not None:
            claims["acr"] = acr
        if username is not None:
            claims["preferred_username"] = username
        if roles:
            claims["roles"] = list(roles)
        if x5t_s256 is not None:
            claims["cnf"] = {"x5t#S256": x5t_s256}
        token = self._keys.ring.sign(claims, algorithm=self.algorithm, now=now)
        return IssuedAccessToken(token, jti, iat + life, life)


def identity_from_access_token(identity: Identity) -> Identity:
    """Map a verified authgate access token's Identity to the caller it was issued for.

    The generic bearer mapping uses ``sub`` as both subject and principal and the ``jti``
    as credential; for authgate's own tokens the caller is shown exactly as with the key
    pair it exchanged: subject = user name, principal_id = user id, credential_id = the
    key pair's id (``client_id``), scheme ``bearer``.

    Raises:
        InvalidCredentials: a claim authgate always sets is missing or mistyped.
    """
    claims = identity.claims
    sub, client_id = claims.get("sub"), claims.get("client_id")
    if type(sub) is not str or type(client_id) is not str:
        raise invalid_token("own token without sub or client_id")
    name = claims.get("preferred_username")
    exp = claims.get("exp")
    expires_at = float(exp) if isinstance(exp, int | float) else None
    return Identity(
        subject=name if type(name) is str and name else sub,
        principal_id=sub,
        scheme="bearer",
        credential_id=client_id,
        scopes=identity.scopes,
        roles=identity.roles,
        claims=MappingProxyType(dict(claims)),
        expires_at=expires_at,
    )


@dataclass(frozen=True, slots=True)
class _VerifiedToken:
    """A cache entry: what a full verification established, and the bounds of its reuse.

    Attributes:
        identity: the mapped caller (:func:`identity_from_access_token`).
        jti: the token's ``jti`` (asked of the deny-list on every hit).
        kid: the ``kid`` of the key that verified the signature.
        alg: the JWS ``alg`` it verified under.
        not_before: ``max(iat, nbf) - leeway``: a clock set back before this re-verifies.
        expires_at: the token's ``exp``: the entry is never served at or after it.
    """

    identity: Identity
    jti: str
    kid: str | None
    alg: str
    not_before: float
    expires_at: float


class AccessTokenVerifier:
    """Verifies authgate's own access tokens: signature, claims, then the deny-list.

    Tokens that verified are remembered, so a resource server introspecting the same token
    on every call (RFC 7662 §2.1) pays for one Ed25519/ECDSA/RSA check per token, not per
    call. The cache's rules:

    - The key is an HMAC-SHA256 of the token under a key of this process (or the given
      :class:`~authgate.crypto.digest.Digester`): the cache never holds a token, so its
      contents cannot be replayed as bearer credentials (RFC 6750 §5.3).
    - Only tokens that passed every check are stored; failures are never cached.
    - An entry is served only while ``max(iat, nbf) - leeway <= now < exp`` (RFC 7519
      §4.1.4, §4.1.5): never past the token's ``exp``. Between ``exp`` and ``exp +
      leeway`` the full verification decides, exactly as without the cache.
    - Every hit still asks the deny-list (RFC 7009 §2, RFC 9068 §4 via ``jti``): a token
      revoked after it was cached is refused on its next use.
    - Every hit still asks the key source for the signing key's ``kid``: a key that left
      the JWK Set (RFC 7517 §5) takes its cached tokens with it. Rotation needs nothing
      more: a retired key stays published until ``retired_at`` + the longest token
      lifetime (+ leeway), so its tokens are valid until their ``exp`` with or without
      the cache, and a ``kid`` is the RFC 7638 thumbprint of its key, so it never names
      another key.
    - At most ``cache_size`` entries; the oldest is dropped first.

    Args:
        issuer: the issuer configuration (:meth:`AccessTokenIssuer.issuer_config`).
        keys: the local key source.
        revocation: the ``jti`` deny-list.
        clock: returns the current time in seconds since the epoch.
        digester: keys the cache (default: a random key of this instance).
        cache_size: the most verified tokens remembered (0 disables the cache).
        holders: key pairs, users and clients whose tokens are refused (asked on every
            verification, cached or not).
    """

    _PURPOSE = "access-token-cache"

    def __init__(
        self,
        issuer: IssuerConfig,
        keys: KeySource,
        revocation: RevocationList,
        *,
        clock: Callable[[], float] = time.time,
        digester: Digester | None = None,
        cache_size: int = 10_000,
        holders: HolderDenyList | None = None,
    ) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self._verifier = TokenVerifier([issuer], clock=clock)
        self._keys = keys
        self.revocation = revocation
        self.holders = holders if holders is not None else HolderDenyList(clock=clock)
        self._clock = clock
        self._leeway = float(issuer.leeway)
        self._digester = digester if digester is not None else Digester(secrets.token_bytes(32))
        self._cache_size = cache_size
        self._cache: dict[str, _VerifiedToken] = {}

    @property
    def cached_tokens(self) -> int:
        """How many verified tokens are cached."""
        return len(self._cache)

    def clear(self) -> None:
        """Forget every cached verification (the next use of each token verifies afresh)."""
        self._cache.clear()

    async def verify(self, token: str) -> Identity:
        """The caller's Identity (mapped by :func:`identity_from_access_token`).

        Raises:
            InvalidCredentials: the token is refused or revoked.
            RevocationUnavailable: the shared deny-list cannot answer.
        """
        key: str | None = None
        if self._cache_size and len(token) <= self._verifier.max_token_bytes:
            key = self._digester.digest(token, purpose=self._PURPOSE)
            entry = self._cache.get(key)
            if entry is not None and await self._still_verified(key, entry):
                if await self.revocation.is_revoked(entry.jti):
                    raise invalid_token("revoked")
                if self.holders.denies(entry.identity.claims):
                    raise invalid_token("revoked holder")
                return entry.identity
        unverified = self._verifier.inspect(token)
        keys = await self._keys.get_keys(unverified.kid)
        identity = self._verifier.verify(unverified, keys)
        jti = str(identity.claims["jti"])
        if await self.revocation.is_revoked(jti):
            raise invalid_token("revoked")
        if self.holders.denies(identity.claims):
            raise invalid_token("revoked holder")
        mapped = identity_from_access_token(identity)
        if key is not None:
            self._remember(key, mapped, jti, unverified.kid, unverified.alg)
        return mapped

    async def _still_verified(self, key: str, entry: _VerifiedToken) -> bool:
        """True when the full verification would pass again (the deny-list aside)."""
        now = self._clock()
        if entry.not_before <= now < entry.expires_at:
            keys = await self._keys.get_keys(entry.kid)
            if keys.select(entry.kid, entry.alg) is not None:
                return True
        self._cache.pop(key, None)
        return False

    def _remember(self, key: str, identity: Identity, jti: str, kid: str | None, alg: str) -> None:
        claims = identity.claims
        exp = claims.get("exp")
        if not isinstance(exp, int | float):  # required and type-checked: never here
            return
        starts = [float(v) for v in (claims.get("iat"), claims.get("nbf")) if v is not None]
        not_before = max(starts, default=float("-inf")) - self._leeway
        if float(exp) <= self._clock():
            return  # inside the leeway after exp: valid now, but not worth remembering
        if key not in self._cache and len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = _VerifiedToken(identity, jti, kid, alg, not_before, float(exp))
