"""The ``Bearer`` scheme for JWT access tokens from trusted issuers.

RFC 6750 §2.1 (``Authorization: Bearer <token>``) and §3 (``WWW-Authenticate`` challenge),
RFC 9068 (JWT profile for OAuth 2.0 access tokens), RFC 7519 / RFC 7515 (JWT, JWS) and the
JWT BCP, RFC 8725. The verification itself is sans-I/O (:mod:`authgate.tokens.verify`);
this adapter reads the header, asks the issuer's :class:`~authgate.tokens.jwks.KeySource`
for keys (the only I/O) and returns the Identity.

authgate API keys are also accepted as ``Bearer <key>``, so this scheme claims a request
only when the value looks like a compact JWS (three base64url segments); anything else is
left to the API key scheme.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence

import httpx2

from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.tokens.cache import VerifiedTokenCache
from authgate.tokens.claims import CHALLENGE, invalid_token
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.jwks import KeySource, key_source_for
from authgate.tokens.verify import DEFAULT_MAX_TOKEN_BYTES, TokenVerifier

__all__ = ["BearerJWTAuthenticator"]

# Header and payload non-empty, signature possibly empty (so an unsigned token is this
# scheme's to refuse, not an API key's).
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _bearer_value(request: RequestView) -> str | None:
    value = request.headers.get("authorization")
    if value is None or len(value) < 7 or value[:7].lower() != "bearer ":
        return None
    return value[7:].strip(" ")


class BearerJWTAuthenticator:
    """Authenticates ``Authorization: Bearer <JWT>`` against configured issuers.

    Args:
        issuers: the trusted issuers.
        http: client for fetching remote JWK Sets; one is created (and owned) when None and
            an issuer needs it.
        clock: returns the current time in seconds since the epoch.
        max_token_bytes: tokens longer than this are refused before parsing.
        key_sources: key sources by ``iss`` that replace the configured key material (for
            issuers whose keys are local, such as authgate's own).
        cache: the verified-token cache; the default holds 10 000 tokens for up to 5 min.
            Pass None to verify every token in full.
    """

    name = "bearer"
    challenge = CHALLENGE
    needs_body = False
    cacheable = True  # the identity depends on the token alone
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ()

    def __init__(
        self,
        issuers: Sequence[IssuerConfig],
        *,
        http: httpx2.AsyncClient | None,
        clock: Callable[[], float] = time.time,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        key_sources: Mapping[str, KeySource] | None = None,
        cache: VerifiedTokenCache | None = None,
        use_cache: bool = True,
    ) -> None:
        if cache is None and use_cache:
            cache = VerifiedTokenCache()
        self.verifier = TokenVerifier(
            issuers, clock=clock, max_token_bytes=max_token_bytes, cache=cache
        )
        self._owned_http: httpx2.AsyncClient | None = None
        overrides = dict(key_sources or {})
        needs_http = any(i.jwks_url and i.issuer not in overrides for i in issuers)
        if http is None and needs_http:
            http = self._owned_http = httpx2.AsyncClient(timeout=5.0, follow_redirects=False)
        self._sources: dict[str, KeySource] = {}
        for issuer in issuers:
            source = overrides.get(issuer.issuer)
            self._sources[issuer.issuer] = source or key_source_for(issuer, http=http, clock=clock)

    def key_source(self, issuer: str) -> KeySource:
        """The key source serving ``issuer``."""
        return self._sources[issuer]

    def is_present(self, request: RequestView) -> bool:
        """True when the request carries ``Authorization: Bearer`` with a JWT-shaped value."""
        value = _bearer_value(request)
        return value is not None and _JWT_SHAPE.fullmatch(value) is not None

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the bearer JWT and return the caller's Identity.

        Raises:
            InvalidCredentials: for every failure, with the same body and challenge.
        """
        if request.headers.count("authorization") != 1:
            raise invalid_token("not exactly one Authorization header")
        token = _bearer_value(request)
        if token is None:
            raise invalid_token("not a bearer credential")
        verifier = self.verifier
        identity = verifier.cached(token)
        if identity is not None:
            return identity
        unverified = verifier.inspect(token)
        keys = await self._sources[unverified.issuer.issuer].get_keys(unverified.kid)
        return verifier.verify(unverified, keys)

    async def aclose(self) -> None:
        """Close the HTTP client if this authenticator created it."""
        if self._owned_http is not None:
            await self._owned_http.aclose()
