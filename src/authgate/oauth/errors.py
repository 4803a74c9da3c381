"""OAuth 2.0 token-endpoint errors on top of :mod:`authgate.errors` (RFC 6749 §5.2).

The codes a token, introspection (RFC 7662 §2.3) or revocation (RFC 7009 §2.2.1)
endpoint answers with. ``invalid_request`` is :class:`authgate.errors.InvalidRequest`
(400) already; the others are here::

    AuthError
    ├── InvalidClient            401 invalid_client   (+ WWW-Authenticate Basic when the
    │                                                  client used Basic, §5.2)
    ├── InvalidGrant             400 invalid_grant    (bad/expired/revoked/foreign grant)
    ├── UnauthorizedClient       400 unauthorized_client (grant not allowed for the client)
    ├── UnsupportedGrantType     400 unsupported_grant_type
    ├── InvalidTokenScope        400 invalid_scope    (§5.2: 400 at the token endpoint,
    │                                                  not the 403 of authgate.InvalidScope)
    ├── UnsupportedTokenType     400 unsupported_token_type (RFC 7009 §2.2.1)
    ├── AuthorizationPending     400 authorization_pending (RFC 8628 §3.5: keep polling)
    ├── SlowDown                 400 slow_down        (RFC 8628 §3.5: poll 5 s slower)
    ├── AccessDenied             400 access_denied    (RFC 8628 §3.5: the user said no)
    └── ExpiredToken             400 expired_token    (RFC 8628 §3.5: the device code expired)

Descriptions are generic: which check failed (unknown client, wrong secret, deleted
client) is in ``reason`` for the audit log, never in the response.
"""

from __future__ import annotations

from authgate.errors import AuthError

__all__ = [
    "BASIC_CHALLENGE",
    "AccessDenied",
    "AuthorizationPending",
    "ExpiredToken",
    "InvalidClient",
    "InvalidGrant",
    "InvalidTokenScope",
    "SlowDown",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedTokenType",
    "invalid_client",
]

BASIC_CHALLENGE = 'Basic realm="authgate", charset="UTF-8"'


class InvalidClient(AuthError):
    """Client authentication failed (unknown client, wrong secret, bad assertion)."""

    status = 401
    code = "invalid_client"
    default_description = "Client authentication failed."


class InvalidGrant(AuthError):
    """The grant (refresh token, code, ...) is invalid, expired, revoked or foreign."""

    status = 400
    code = "invalid_grant"
    default_description = "The grant is invalid, expired or revoked."


class UnauthorizedClient(AuthError):
    """The client may not use this grant type."""

    status = 400
    code = "unauthorized_client"
    default_description = "The client is not authorized to use this grant type."


class UnsupportedGrantType(AuthError):
    """The grant type is unknown or deliberately not offered (password, implicit)."""

    status = 400
    code = "unsupported_grant_type"
    default_description = "The grant type is not supported."


class InvalidTokenScope(AuthError):
    """The requested scope exceeds what the client (or the grant) holds."""

    status = 400
    code = "invalid_scope"
    default_description = "The requested scope is invalid or exceeds the granted scope."


class UnsupportedTokenType(AuthError):
    """RFC 7009 §2.2.1: the server cannot revoke this type of token."""

    status = 400
    code = "unsupported_token_type"
    default_description = "The token type is not supported."


def invalid_client(reason: str, *, basic: bool) -> InvalidClient:
    """The uniform client-authentication failure (with a Basic challenge if Basic was used)."""
    return InvalidClient(reason=f"client: {reason}", challenges=(BASIC_CHALLENGE,) if basic else ())


class AuthorizationPending(AuthError):
    """RFC 8628 §3.5: the user has not decided yet; the device keeps polling."""

    status = 400
    code = "authorization_pending"
    default_description = "The authorization request is still pending."


class SlowDown(AuthError):
    """RFC 8628 §3.5: still pending, and the device polls too fast (interval + 5 s)."""

    status = 400
    code = "slow_down"
    default_description = "Polling too fast: wait 5 seconds longer between requests."


class AccessDenied(AuthError):
    """RFC 8628 §3.5: the user denied the authorization request."""

    status = 400
    code = "access_denied"
    default_description = "The authorization request was denied."


class ExpiredToken(AuthError):
    """RFC 8628 §3.5: the device code expired; the device must start over."""

    status = 400
    code = "expired_token"
    default_description = "The device code has expired."
