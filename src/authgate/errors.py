"""One error tree for everything that can refuse a request.

Each error knows its HTTP status, its RFC error code (RFC 6749 §5.2, RFC 6750 §3.1,
RFC 7009, RFC 7662) and the ``WWW-Authenticate`` challenges to send. One renderer,
:func:`render`, turns any of them into the JSON body clients see. Clients only ever see
the generic code and description: the internal ``reason`` is for audit logs, never for
the response, so an unknown key, a revoked key and a wrong secret are indistinguishable.

    AuthError                         500 server_error (base; never raised bare)
    ├── InvalidRequest                400 invalid_request  (malformed input, duplicates)
    ├── Unauthorized                  401 unauthorized     (no credentials presented)
    ├── InvalidCredentials            401 invalid_token    (presented, but not valid)
    │   └── SecondFactorRequired      401 insufficient_user_authentication (RFC 9470 §3:
    │                                     a right password of an account with a second
    │                                     factor, presented alone)
    ├── Forbidden                     403 forbidden
    │   ├── InsufficientScope         403 insufficient_scope
    │   ├── InvalidScope              403 invalid_scope    (asking for more than held)
    │   └── SignatureMismatch         403 invalid_signature (AWS SigV4 answers 403)
    ├── NotFound                      404 not_found
    ├── Conflict                      409 conflict
    ├── PayloadTooLarge               413 request_too_large
    └── RateLimited                   429 rate_limited

    SetupError                        (not a refusal: the installation cannot start, e.g. a
                                       database driver extra is missing; the CLI prints it
                                       as one line)
"""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = [
    "AuthError",
    "Conflict",
    "Forbidden",
    "InsufficientScope",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidScope",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SecondFactorRequired",
    "SetupError",
    "SignatureMismatch",
    "Unauthorized",
    "render",
]


class AuthError(Exception):
    """Base of every refusal. ``description`` is safe to show; ``reason`` is not."""

    status: int = 500
    code: str = "server_error"
    default_description: str = "The server could not complete the request."

    def __init__(
        self,
        description: str | None = None,
        *,
        reason: str | None = None,
        challenges: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.description = description or self.default_description
        self.reason = reason or self.description
        self.challenges = tuple(challenges)
        self.headers = tuple(headers)
        super().__init__(self.reason)

    def response_headers(self) -> list[tuple[str, str]]:
        """Headers for the response: challenges first, then any extra ones."""
        out = [("www-authenticate", c) for c in self.challenges]
        out.extend(self.headers)
        return out


class InvalidRequest(AuthError):
    status = 400
    code = "invalid_request"
    default_description = "The request is malformed."


class Unauthorized(AuthError):
    status = 401
    code = "unauthorized"
    default_description = "Authentication is required."


class InvalidCredentials(AuthError):
    """Every failure of a presented credential: unknown, wrong, revoked, expired."""

    status = 401
    code = "invalid_token"
    default_description = "The credentials are invalid."


class SecondFactorRequired(InvalidCredentials):
    """The password was right, but the account has a second factor: the password alone
    is never enough. Raised only *after* the password verified, so it tells nothing to
    someone who does not know the password (a wrong one stays the uniform 401)."""

    code = "insufficient_user_authentication"
    default_description = (
        "This account has a second factor, so its password alone is not accepted: "
        "use an API key or an access token, or sign in on the login page."
    )


class Forbidden(AuthError):
    status = 403
    code = "forbidden"
    default_description = "The caller may not do this."


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    default_description = "The credentials lack a required scope."


class InvalidScope(Forbidden):
    code = "invalid_scope"
    default_description = "The requested scopes exceed those the owner holds."


class SignatureMismatch(Forbidden):
    code = "invalid_signature"
    default_description = "The request signature does not match."


class NotFound(AuthError):
    status = 404
    code = "not_found"
    default_description = "No such resource."


class Conflict(AuthError):
    status = 409
    code = "conflict"
    default_description = "The resource already exists."


class PayloadTooLarge(AuthError):
    status = 413
    code = "request_too_large"
    default_description = "The request or one of its credentials is too large."


class RateLimited(AuthError):
    status = 429
    code = "rate_limited"
    default_description = "Too many requests."


def render(error: AuthError) -> tuple[int, list[tuple[str, str]], bytes]:
    """Render an error as ``(status, headers, body)``; the one place bodies are made."""
    body = json.dumps(
        {"error": error.code, "error_description": error.description}, separators=(",", ":")
    ).encode()
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        *error.response_headers(),
    ]
    return error.status, headers, body


class SetupError(Exception):
    """The installation cannot start as configured; the message names the cause and fix."""
