"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection.

RFC 9700 §4.14.2: each refresh token is used once and replaced; a used one coming back
revokes its whole family, which is audited. The new scope must not exceed the original
(§6), and the client's registration and the user's current scopes bound it too
(:func:`~authgate.oauth.grants.base.delegable`). The rotation itself is
:class:`~authgate.tokens.refresh.RefreshTokenService`'s.
"""

from __future__ import annotations

from typing import Any

from authgate.errors import InvalidCredentials, InvalidScope
from authgate.oauth.errors import InvalidGrant, InvalidTokenScope
from authgate.oauth.grant_rules import parse_scope, required
from authgate.oauth.grants.base import GrantContext, TokenRequest, delegable, token_response
from authgate.oauth.security_events import is_family_revocation
from authgate.tokens.access import IssuedAccessToken
from authgate.tokens.refresh import RefreshGrant

__all__ = ["RefreshTokenGrant"]


class RefreshTokenGrant:
    """``grant_type=refresh_token``."""

    grant_type = "refresh_token"

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        client = request.client
        requested = parse_scope(request.form.get("scope"))
        token = required(request.form, "refresh_token")

        scopes: tuple[str, ...] = ()

        async def mint(grant: RefreshGrant) -> IssuedAccessToken:
            nonlocal scopes
            user = await ctx.load_user(grant.user_id)
            if user is None or user.disabled:
                raise InvalidGrant(reason="refresh: user gone or disabled")
            # The client's registration and the user's current scopes are the ceiling
            # too: scopes either lost since are dropped.
            scopes = delegable(grant.scopes, client, user)
            return ctx.tokens.access.issue(
                subject=user.id,
                client_id=client.client_id,
                scopes=scopes,
                username=user.name,
                auth_time=grant.auth_time,
                x5t_s256=request.x5t_s256,
            )

        try:
            _, refresh, access = await ctx.tokens.refresh.rotate(
                token, mint, client_id=client.client_id, scopes=requested
            )
        except InvalidCredentials as exc:
            if is_family_revocation(exc):
                await ctx.audit_refresh_reuse(token, exc, "/oauth/token", request.client_ip)
            raise InvalidGrant(reason=exc.reason) from None
        except InvalidScope as exc:
            raise InvalidTokenScope(reason=exc.description) from None
        body = token_response(access, scopes)
        body["refresh_token"] = refresh.token
        return body
