"""JWT claims validation and the mapping of claims to an Identity.

RFC 7519 §4.1 (registered claims and their JSON types), §7.2 step 10 (claims the
application must understand); RFC 9068 §4 (access token validation: ``iss`` exact,
``aud`` must contain an accepted audience, ``exp`` in the future); RFC 8725 §3.8-§3.9
(issuer and audience validation). Every claim authgate reads is type-checked first:
``null``, booleans, numbers, arrays or objects where a string or NumericDate belongs are
refused with the uniform 401, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.tokens.issuers import IssuerConfig

__all__ = ["CHALLENGE", "identity_from_claims", "invalid_token", "numeric_date", "validate_claims"]

#: The one challenge every bearer failure carries (RFC 6750 §3, §3.1).
CHALLENGE = 'Bearer realm="authgate", error="invalid_token"'

#: 9999-12-31T23:59:59Z, the last second a datetime holds; later NumericDates are refused.
_MAX_NUMERIC_DATE = 253402300799

# Claims that only an OpenID Connect ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11).
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash", "s_hash")


def invalid_token(reason: str) -> InvalidCredentials:
    """The uniform bearer failure; ``reason`` is for the audit log only."""
    return InvalidCredentials(reason=f"bearer: {reason}", challenges=(CHALLENGE,))


def numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2) or None when absent.

    Raises:
        InvalidCredentials: present but not a finite JSON number (``true`` is not a
            number), or outside years 1970-9999 (``10**400`` would overflow a float and
            any later date conversion).
    """
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise invalid_token(f"{name} is null")
        return None
    if type(value) not in (int, float):
        raise invalid_token(f"{name} is not a number")
    # Compare before converting: float(10**400) raises OverflowError, and a NaN or
    # infinity compares false both ways.
    if not 0 <= value <= _MAX_NUMERIC_DATE:
        raise invalid_token(f"{name} is out of range")
    return float(value)


def _string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise invalid_token(f"{name} is null")
        return None
    if type(value) is not str or not value:
        raise invalid_token(f"{name} is not a non-empty string")
    return value


def _string_list(value: Any, name: str) -> tuple[str, ...]:
    if type(value) is not list or any(type(v) is not str for v in value):
        raise invalid_token(f"{name} is not a list of strings")
    return tuple(value)


def validate_claims(claims: Mapping[str, Any], issuer: IssuerConfig, now: float) -> None:
    """Check registered claims against an issuer's policy at time ``now``.

    Args:
        claims: the verified JWT Claims Set.
        issuer: the issuer whose key verified the signature.
        now: the current time (seconds since the epoch).

    Raises:
        InvalidCredentials: any claim is missing, of the wrong type, or not acceptable.
    """
    for name in issuer.required_claims:
        if claims.get(name) is None:
            raise invalid_token(f"missing required claim {name}")
    leeway = issuer.leeway
    exp = numeric_date(claims, "exp")
    if exp is not None and now >= exp + leeway:
        raise invalid_token("expired")
    nbf = numeric_date(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise invalid_token("not yet valid (nbf)")
    iat = numeric_date(claims, "iat")
    if iat is not None and now + leeway < iat:
        raise invalid_token("issued in the future (iat)")
    if _string(claims, "iss") != issuer.issuer:
        raise invalid_token("iss mismatch")
    aud = claims.get("aud")
    if type(aud) is str:
        audiences: tuple[str, ...] = (aud,)
    elif aud is None:
        raise invalid_token("missing aud")
    else:
        audiences = _string_list(aud, "aud")
    if not set(audiences).intersection(issuer.audiences):
        raise invalid_token("aud not accepted")
    _string(claims, "sub")
    _string(claims, "jti")
    _string(claims, "client_id")
    _string(claims, issuer.subject_claim)
    if not issuer.require_at_jwt and any(c in claims for c in _ID_TOKEN_CLAIMS):
        raise invalid_token("ID token presented as an access token")
    scopes(claims)
    if issuer.roles_claim is not None and issuer.roles_claim in claims:
        _string_list(claims[issuer.roles_claim], issuer.roles_claim)


def scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Scopes from ``scope`` (space-separated, RFC 9068 §2.2.3, RFC 8693 §4.2) or ``scp``.

    Raises:
        InvalidCredentials: the claim has the wrong type.
    """
    if "scope" in claims:
        value = claims["scope"]
        if type(value) is not str:
            raise invalid_token("scope is not a string")
        return tuple(value.split())
    if "scp" in claims:
        value = claims["scp"]
        if type(value) is str:  # Entra ID sends a space-separated string
            return tuple(value.split())
        return _string_list(value, "scp")
    return ()


def identity_from_claims(claims: Mapping[str, Any], issuer: IssuerConfig) -> Identity:
    """Map validated claims to the Identity of the caller.

    Args:
        claims: claims already checked by :func:`validate_claims`.
        issuer: the issuer that signed them.

    Returns:
        The Identity (scheme ``bearer``; ``credential_id`` is the ``jti``).

    Raises:
        InvalidCredentials: the subject claim is missing.
    """
    subject = _string(claims, issuer.subject_claim)
    if subject is None:
        raise invalid_token(f"missing subject claim {issuer.subject_claim}")
    if issuer.principal_format == "issuer_subject":
        principal_id = f"{issuer.issuer}|{subject}"
    else:
        principal_id = subject
    roles: tuple[str, ...] = ()
    if issuer.roles_claim is not None and issuer.roles_claim in claims:
        roles = _string_list(claims[issuer.roles_claim], issuer.roles_claim)
    return Identity(
        subject=subject,
        principal_id=principal_id,
        scheme="bearer",
        credential_id=_string(claims, "jti"),
        scopes=scopes(claims),
        roles=roles,
        claims=MappingProxyType(dict(claims)),
    )
