"""The ``Bearer`` scheme with authgate's own access tokens: revocation and caller mapping.

RFC 6750 §2.1/§3 (bearer usage and challenge), RFC 9068 §4 (validating JWT access
tokens), RFC 7009 / RFC 9700 §4.14.2 (revoked tokens, including those of a replayed
refresh family, are refused until they expire).

:class:`OwnTokenAuthenticator` wraps a :class:`~authgate.schemes.bearer.BearerJWTAuthenticator`
that trusts authgate's issuer (with a :class:`~authgate.tokens.signing_store.LocalKeySource`)
and any external issuers. For tokens whose ``iss`` is authgate's own it adds two steps
after the signature and claims checks: the ``jti`` deny-list and the holder deny-list
(key pair, user, client: :mod:`authgate.tokens.holders`), on every request, never
cached, and the mapping to the caller the token was issued for
(:func:`~authgate.tokens.access.identity_from_access_token`). Any token with a
``cnf`` claim (RFC 8705 §3.1, certificate-bound) is accepted only when the request
presents the certificate whose ``x5t#S256`` it names — never without a certificate,
never with another; an unknown confirmation method is refused. It is not ``cacheable``:
the middleware's verified-identity cache would skip the deny-list; the inner verified-
token cache still keeps signature checks off the hot path.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence

import httpx2

from authgate.http.client_certs import ClientCertificates
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.schemes.bearer import BearerJWTAuthenticator
from authgate.tokens.access import identity_from_access_token
from authgate.tokens.claims import CHALLENGE, invalid_token
from authgate.tokens.holders import HolderDenyList
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.revocation import RevocationList
from authgate.tokens.services import TokenServices
from authgate.tokens.signing_store import LocalKeySource

__all__ = ["OwnTokenAuthenticator", "own_token_authenticator"]


class OwnTokenAuthenticator:
    """Bearer JWTs, with authgate's own tokens checked against the deny-list.

    Args:
        inner: the bearer authenticator (its issuers include ``issuer``).
        issuer: authgate's own ``iss``.
        revocation: the ``jti`` deny-list.
        certificates: reads the request's client certificate (certificate-bound tokens);
            None refuses every bound token.
        holders: key pairs, users and clients whose tokens are refused
            (:mod:`authgate.tokens.holders`).
    """

    name = "bearer"
    challenge = CHALLENGE
    needs_body = False
    cacheable = False  # the deny-list must be consulted on every request
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ()

    def __init__(
        self,
        inner: BearerJWTAuthenticator,
        *,
        issuer: str,
        revocation: RevocationList,
        certificates: ClientCertificates | None = None,
        holders: HolderDenyList | None = None,
    ) -> None:
        if issuer not in inner.verifier.issuers:
            raise ValueError(f"the bearer authenticator does not trust {issuer!r}")
        self.inner = inner
        self.issuer = issuer
        self.revocation = revocation
        self.certificates = certificates
        self.holders = holders if holders is not None else HolderDenyList()

    def is_present(self, request: RequestView) -> bool:
        """True when the request carries a JWT-shaped bearer token."""
        return self.inner.is_present(request)

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the token; for authgate's own, also the deny-list, then map the caller.

        Raises:
            InvalidCredentials: any failure, revoked included, with the same body.
            RevocationUnavailable: the shared deny-list cannot answer (503).
        """
        identity = await self.inner.authenticate(request)
        if "cnf" in identity.claims:
            self._check_binding(identity.claims["cnf"], request)
        if identity.claims.get("iss") != self.issuer:
            return identity
        jti = identity.claims.get("jti")
        if type(jti) is not str or await self.revocation.is_revoked(jti):
            raise invalid_token("revoked")
        if self.holders.denies(identity.claims):
            raise invalid_token("revoked holder")
        return identity_from_access_token(identity)

    def _check_binding(self, cnf: object, request: RequestView) -> None:
        """RFC 8705 §3.1: the presented certificate must be the one the token names."""
        if not isinstance(cnf, dict) or set(cnf) != {"x5t#S256"}:
            raise invalid_token("unsupported confirmation method")
        bound = cnf["x5t#S256"]
        presented = self.certificates.x5t_s256(request) if self.certificates else None
        if (
            type(bound) is not str
            or presented is None
            or not hmac.compare_digest(presented.encode(), bound.encode("utf-8", "replace"))
        ):
            raise invalid_token("certificate-bound token without its certificate")

    async def aclose(self) -> None:
        """Close the inner authenticator's HTTP client, if it owns one."""
        await self.inner.aclose()


def own_token_authenticator(
    tokens: TokenServices,
    external_issuers: Sequence[IssuerConfig] = (),
    *,
    http: httpx2.AsyncClient | None = None,
    certificates: ClientCertificates | None = None,
    clock: Callable[[], float] = time.time,
) -> OwnTokenAuthenticator:
    """The chain's ``bearer`` scheme: authgate's issuer plus the configured ones."""
    own = tokens.access.issuer_config()
    inner = BearerJWTAuthenticator(
        [own, *external_issuers],
        http=http,
        clock=clock,
        key_sources={own.issuer: LocalKeySource(tokens.signing)},
    )
    return OwnTokenAuthenticator(
        inner,
        issuer=own.issuer,
        revocation=tokens.revocation,
        certificates=certificates,
        holders=tokens.holders,
    )
