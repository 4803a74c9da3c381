"""The client credentials grant (RFC 6749 §4.4).

Confidential clients only (checked before the handler runs); the scope is the requested
one when the client is registered for all of it, else its default (§3.3); no refresh
token (§4.4.3).
"""

from __future__ import annotations

from typing import Any

from authgate.oauth.grant_rules import parse_scope, resolve_scopes
from authgate.oauth.grants.base import GrantContext, TokenRequest, token_response

__all__ = ["ClientCredentialsGrant"]


class ClientCredentialsGrant:
    """``grant_type=client_credentials``."""

    grant_type = "client_credentials"

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        client = request.client
        scopes = resolve_scopes(parse_scope(request.form.get("scope")), client.scopes)
        access = ctx.tokens.access.issue(
            subject=client.client_id,
            client_id=client.client_id,
            scopes=scopes,
            x5t_s256=request.x5t_s256,
        )
        # RFC 6749 §4.4.3: no refresh token for the client credentials grant.
        return token_response(access, scopes)
