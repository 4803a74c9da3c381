"""What a grant handler is, what it gets, and the token response it shapes.

A grant handler (authlib's ``register_grant`` is the model) answers one ``grant_type``
at ``/oauth/token`` (RFC 6749 §4, §6; RFC 8628 §3.4): the server has already selected it,
authenticated the client and checked the client is registered for it
(:func:`~authgate.oauth.grant_rules.check_grant_allowed`); the handler validates its
own parameters, issues and returns the RFC 6749 §5.1 body, or raises an RFC 6749 §5.2
error. It reaches the server's services through :class:`GrantContext`, which
:class:`~authgate.oauth.server.OAuthServer` satisfies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from authgate.audit.events import AuditRecord
from authgate.errors import InvalidCredentials
from authgate.oauth.authorize import OIDC_SCOPES
from authgate.oauth.codes import AuthorizationCodes
from authgate.oauth.device import DeviceService
from authgate.oauth.records import ClientRecord
from authgate.store.models import User
from authgate.tokens.access import IssuedAccessToken
from authgate.tokens.id_tokens import IdTokenIssuer
from authgate.tokens.services import TokenServices

__all__ = ["GrantContext", "GrantHandler", "TokenRequest", "delegable", "token_response"]


@dataclass(frozen=True)
class TokenRequest:
    """A token request whose client is authenticated and registered for the grant.

    Attributes:
        client: the authenticated client.
        form: the form parameters.
        x5t_s256: the thumbprint of the client certificate the request came with; the
            access token is then bound to it (RFC 8705 §3: ``cnf``).
        client_ip: the trusted client IP (audit records).
    """

    client: ClientRecord
    form: Mapping[str, str]
    x5t_s256: str | None = None
    client_ip: str | None = None


class GrantContext(Protocol):
    """The server's services a grant handler may use."""

    @property
    def tokens(self) -> TokenServices: ...

    @property
    def codes(self) -> AuthorizationCodes: ...

    @property
    def device(self) -> DeviceService: ...

    @property
    def id_tokens(self) -> IdTokenIssuer: ...

    async def load_user(self, user_id: str) -> User | None:
        """The user row, or None when gone."""
        ...

    async def record(self, event: AuditRecord) -> None:
        """Emit ``event`` to the audit sink, if there is one."""
        ...

    async def audit_refresh_reuse(
        self, token: str, exc: InvalidCredentials, path: str, client_ip: str | None
    ) -> None:
        """Audit that a used refresh token came back and its family was revoked."""
        ...


class GrantHandler(Protocol):
    """Answers token requests of one ``grant_type``."""

    @property
    def grant_type(self) -> str: ...

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        """The RFC 6749 §5.1 response body.

        Raises:
            AuthError: an RFC 6749 §5.2 error (see :mod:`authgate.oauth.errors`).
        """
        ...


def delegable(scopes: tuple[str, ...], client: ClientRecord, user: User) -> tuple[str, ...]:
    """The part of ``scopes`` a client may hold for ``user`` now.

    The client's registered scopes (plus the OIDC ones) bound it; a member delegates only
    scopes the member holds (none when the member holds none), as a member's API keys
    never carry more than the member (:func:`authgate.accounts.resolver`); an admin's
    authority covers any scope.
    """
    allowed = set(client.scopes).union(OIDC_SCOPES)
    if user.role != "admin":
        allowed &= set(user.scopes).union(OIDC_SCOPES)
    return tuple(sc for sc in scopes if sc in allowed)


def token_response(access: IssuedAccessToken, scopes: tuple[str, ...]) -> dict[str, Any]:
    """The RFC 6749 §5.1 body for ``access`` (without a refresh or ID token)."""
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "scope": " ".join(scopes),
    }
