"""Validation of client registration metadata (RFC 6749 §2, §3.1.2; RFC 8252 §7.3;
RFC 7591 §2; RFC 9700 §2.1 and §4.1.3).

Redirect URIs are compared by exact string match at ``/oauth/authorize`` (RFC 9700
§4.1.3), so they are validated strictly when registered: absolute, no fragment (RFC 6749
§3.1.2), no user info, ``https`` — except ``http`` on a loopback IP literal for native
apps (RFC 8252 §7.3, where the port may vary at authorization time). Inputs are capped in
length before parsing so pathological URIs cost nothing (CVE-2022-36087).

Grants: ``client_credentials`` (confidential only, RFC 6749 §4.4), ``authorization_code``
(needs a redirect URI), ``refresh_token`` and the RFC 8628 device grant. Never
``password`` or ``implicit`` (RFC 9700 §2.4, §2.1.2).

Token endpoint authentication methods (RFC 7591 §2): ``client_secret_basic``,
``client_secret_post``, ``private_key_jwt`` (RFC 7523 §2.2, with a registered public JWK
Set) for confidential clients; ``none`` for public ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authgate.errors import InvalidRequest

__all__ = [
    "AUTH_METHODS",
    "CONFIDENTIAL_AUTH_METHODS",
    "DEVICE_CODE_GRANT",
    "GRANT_TYPES",
    "is_loopback",
    "normalize_grants",
    "validate_auth_method",
    "validate_client_jwks",
    "validate_redirect_uri",
    "validate_redirect_uris",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Grants a client may be registered for (aliases: ``device_code``).
GRANT_TYPES: tuple[str, ...] = (
    "client_credentials",
    "authorization_code",
    "refresh_token",
    DEVICE_CODE_GRANT,
)
_GRANT_ALIASES = {"device_code": DEVICE_CODE_GRANT}
CONFIDENTIAL_AUTH_METHODS: tuple[str, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
)
AUTH_METHODS: tuple[str, ...] = (*CONFIDENTIAL_AUTH_METHODS, "none")

_MAX_URI = 2000
_MAX_URIS = 20
_MAX_JWKS = 16 * 1024
_LOOPBACK_HOSTS = ("127.0.0.1", "::1")


def normalize_grants(grants: Iterable[str], *, public: bool) -> list[str]:
    """Deduplicated grants in canonical order.

    Raises:
        InvalidRequest: unknown grant, none given, or ``client_credentials`` for a
            public client (it cannot authenticate, RFC 6749 §4.4).
    """
    wanted = {_GRANT_ALIASES.get(g.strip(), g.strip()) for g in grants if g.strip()}
    unknown = sorted(wanted - set(GRANT_TYPES))
    if unknown:
        raise InvalidRequest(
            f"unknown grant {unknown[0][:60]!r}: use one of {', '.join(GRANT_TYPES)}"
        )
    if not wanted:
        raise InvalidRequest("at least one grant is required")
    if public and "client_credentials" in wanted:
        raise InvalidRequest("a public client cannot use client_credentials")
    return [g for g in GRANT_TYPES if g in wanted]


def validate_redirect_uri(uri: str) -> str:
    """Return ``uri`` unchanged when it may be registered.

    Raises:
        InvalidRequest: not absolute, a fragment or user info, not https (except http on
            a loopback IP literal), too long, or containing spaces or control characters.
    """
    if not isinstance(uri, str) or not 0 < len(uri) <= _MAX_URI:
        raise InvalidRequest(f"redirect URIs are 1-{_MAX_URI} characters")
    if any(c <= " " or c == "\x7f" for c in uri) or not uri.isascii():
        raise InvalidRequest("redirect URIs must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest("the redirect URI is not a valid URI") from None
    if "#" in uri:
        raise InvalidRequest("redirect URIs must not contain a fragment (RFC 6749 §3.1.2)")
    if not parts.scheme or not parts.netloc or not host:
        raise InvalidRequest("redirect URIs must be absolute")
    if "@" in parts.netloc:
        raise InvalidRequest("redirect URIs must not contain user information")
    scheme = parts.scheme.lower()
    if scheme == "https":
        return uri
    if scheme == "http" and is_loopback(host):
        return uri
    raise InvalidRequest("redirect URIs must use https (http only on 127.0.0.1 or [::1])")


def is_loopback(host: str) -> bool:
    """A loopback host as RFC 8252 §7.3 native apps use it (127.0.0.1, [::1], localhost)."""
    if host.lower() == "localhost":
        return True  # RFC 8252 §8.3 discourages it, but native apps use it; exact match only
    try:
        return str(ipaddress.ip_address(host)) in _LOOPBACK_HOSTS
    except ValueError:
        return False


def validate_redirect_uris(uris: Sequence[str]) -> list[str]:
    """Validate each URI; duplicates collapse, order is kept."""
    if len(uris) > _MAX_URIS:
        raise InvalidRequest(f"at most {_MAX_URIS} redirect URIs")
    out: list[str] = []
    for uri in uris:
        checked = validate_redirect_uri(uri)
        if checked not in out:
            out.append(checked)
    return out


def validate_auth_method(method: str | None, *, public: bool, has_jwks: bool) -> str:
    """The client's token endpoint authentication method (default by client type).

    Raises:
        InvalidRequest: unknown method, ``none`` for a confidential client (or a secret
            method for a public one), or ``private_key_jwt`` without a JWK Set.
    """
    if method is None:
        method = "none" if public else ("private_key_jwt" if has_jwks else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidRequest(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    if public != (method == "none"):
        raise InvalidRequest("public clients use 'none'; confidential clients must authenticate")
    if (method == "private_key_jwt") != has_jwks:
        raise InvalidRequest("private_key_jwt needs a JWK Set (and only it takes one)")
    return method


def validate_client_jwks(jwks: Any) -> dict[str, Any]:
    """A public JWK Set for ``private_key_jwt`` (RFC 7517 §5), with ``kid`` on every key.

    Raises:
        InvalidRequest: not a JWK Set, too large, a private key, or a symmetric key.
    """
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidRequest('jwks must be a JWK Set: {"keys": [...]}')
    if len(repr(jwks)) > _MAX_JWKS:
        raise InvalidRequest("jwks is too large")
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC", "OKP"):
            raise InvalidRequest("jwks keys must be RSA, EC or OKP public keys")
        if "d" in key or any(p in key for p in ("p", "q", "dp", "dq", "qi")):
            raise InvalidRequest("jwks must hold public keys only")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidRequest("jwks holds an invalid key") from None
    return {"keys": [dict(k) for k in jwks["keys"]]}
