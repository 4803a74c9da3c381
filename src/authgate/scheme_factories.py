"""The scheme factories: each scheme name of the settings → the authenticator it builds.

A factory takes :class:`SchemeServices` (the settings and the runtime's services) and
returns the scheme's :class:`~authgate.schemes.base.Authenticator`, or None when the
settings leave it off (``basic`` with ``basic_enabled = false``, ``bearer`` with neither
authgate's tokens nor a trusted issuer, ``mtls`` without the PKI resolver).
:func:`scheme_factories` registers one per name of ``Settings.schemes``; adding a scheme
is one factory and one ``register`` line here. The chain keeps the order of
``Settings.schemes`` (the first scheme whose credentials are present decides), not the
registry's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from authgate.accounts.pki import PkiResolver
from authgate.accounts.resolver import SigV4Credentials, StoreResolver
from authgate.config import Settings
from authgate.http.client_certs import ClientCertificates
from authgate.http.proxies import TrustedProxies
from authgate.mfa import LoginThrottle
from authgate.registry import Registry
from authgate.replay import ReplayCache
from authgate.schemes.anonymous import AnonymousAuthenticator
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import Authenticator
from authgate.schemes.basic import BasicAuthenticator
from authgate.schemes.bearer import BearerJWTAuthenticator
from authgate.schemes.hmac_simple import HmacSimpleAuthenticator
from authgate.schemes.httpsig import HttpSigAuthenticator
from authgate.schemes.mtls import MtlsAuthenticator
from authgate.schemes.oauth1 import OAuth1Authenticator
from authgate.schemes.own_tokens import own_token_authenticator
from authgate.schemes.sigv4 import SigV4Authenticator
from authgate.tokens.services import TokenServices

__all__ = [
    "SchemeFactory",
    "SchemeRegistry",
    "SchemeServices",
    "build_chain_schemes",
    "client_certificates",
    "scheme_factories",
]


@dataclass(frozen=True)
class SchemeServices:
    """What a scheme factory may use: the settings and the runtime's services."""

    settings: Settings
    #: API keys, key pairs, users' passwords: every scheme with a stored secret.
    resolver: StoreResolver
    #: Nonces seen within the signature window (``httpsig``, ``hmac``, ``oauth1``).
    replay: ReplayCache
    #: Temporary credentials' session tokens (``sigv4``); None: long-lived keys only.
    sigv4_credentials: SigV4Credentials | None = None
    #: Public keys and certificates (``httpsig``, ``oauth1``, ``mtls``).
    pki: PkiResolver | None = None
    #: authgate's own access tokens (``bearer``); None: trusted issuers only.
    tokens: TokenServices | None = None
    #: Counts password failures over Basic and the login form together (``basic``).
    login_throttle: LoginThrottle | None = None


#: Builds a scheme from the services, or None when the settings leave it off.
SchemeFactory = Callable[[SchemeServices], Authenticator | None]
SchemeRegistry = Registry[SchemeFactory]


def client_certificates(settings: Settings) -> ClientCertificates:
    """Reads client certificates as the mTLS scheme does (same proxies, same header)."""
    return ClientCertificates(TrustedProxies(settings.trusted_proxies), settings.mtls_header)


def build_chain_schemes(
    names: Iterable[str], services: SchemeServices, factories: SchemeRegistry
) -> list[Authenticator]:
    """The schemes ``names`` asks for, in that order, built by ``factories``.

    Raises:
        LookupError: a name no factory is registered for.
    """
    out: list[Authenticator] = []
    for name in names:
        scheme = factories[name](services)
        if scheme is not None:
            out.append(scheme)
    return out


def _apikey(s: SchemeServices) -> Authenticator:
    settings = s.settings
    return ApiKeyAuthenticator(
        s.resolver,
        header=settings.api_key_header,
        authorization_schemes=settings.api_key_authorization_schemes,
        query_param=settings.api_key_query_param,
        query_paths=settings.api_key_query_paths,
    )


def _basic(s: SchemeServices) -> Authenticator | None:
    if not s.settings.basic_enabled:
        return None
    return BasicAuthenticator(s.resolver, s.login_throttle)


def _bearer(s: SchemeServices) -> Authenticator | None:
    """authgate's own tokens (and the trusted issuers); without them, the issuers alone."""
    settings = s.settings
    if s.tokens is not None:
        return own_token_authenticator(
            s.tokens, settings.issuers, certificates=client_certificates(settings)
        )
    if settings.issuers:
        return BearerJWTAuthenticator(settings.issuers, http=None)
    return None


def _sigv4(s: SchemeServices) -> Authenticator:
    return SigV4Authenticator(
        s.sigv4_credentials or s.resolver,
        session_tokens=s.sigv4_credentials,
        region=s.settings.sigv4_region,
        service=s.settings.sigv4_service,
        max_skew=s.settings.signature_window,
    )


def _httpsig(s: SchemeServices) -> Authenticator:
    return HttpSigAuthenticator(
        s.resolver,
        s.pki,
        s.replay,
        window=s.settings.signature_window,
        require_query_coverage=s.settings.httpsig_require_query_coverage,
    )


def _hmac(s: SchemeServices) -> Authenticator:
    return HmacSimpleAuthenticator(s.resolver, s.replay, window=s.settings.signature_window)


def _oauth1(s: SchemeServices) -> Authenticator:
    return OAuth1Authenticator(s.resolver, s.pki, s.replay, window=s.settings.oauth1_window)


def _mtls(s: SchemeServices) -> Authenticator | None:
    if s.pki is None:
        return None
    return MtlsAuthenticator(
        s.pki,
        proxies=TrustedProxies(s.settings.trusted_proxies),
        header=s.settings.mtls_header,
    )


def _anonymous(_s: SchemeServices) -> Authenticator:
    return AnonymousAuthenticator()


def scheme_factories(*extra: tuple[str, SchemeFactory]) -> SchemeRegistry:
    """authgate's scheme factories, one per name of ``Settings.schemes``, plus ``extra``
    ``(name, factory)`` pairs; frozen.

    Raises:
        ValueError: an ``extra`` name is already registered.
    """
    registry: SchemeRegistry = Registry("scheme")
    registry.register("apikey", _apikey)
    registry.register("basic", _basic)
    registry.register("bearer", _bearer)
    registry.register("sigv4", _sigv4)
    registry.register("httpsig", _httpsig)
    registry.register("hmac", _hmac)
    registry.register("oauth1", _oauth1)
    registry.register("mtls", _mtls)
    registry.register("anonymous", _anonymous)
    for name, factory in extra:
        registry.register(name, factory)
    return registry.freeze()
