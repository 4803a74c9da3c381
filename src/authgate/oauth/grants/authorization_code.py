"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6).

The code is redeemed once, by the client it was issued to, with the same redirect URI
and the PKCE verifier (:class:`~authgate.oauth.codes.AuthorizationCodes`); a second
redemption is audited (``oauth.code_replayed``) and revokes what the first one issued
(RFC 6749 §4.1.2). ``scope`` is not a parameter of this grant: the code carries it.
"""

from __future__ import annotations

from typing import Any

from authgate.errors import InvalidRequest
from authgate.oauth.errors import InvalidGrant
from authgate.oauth.grant_rules import required
from authgate.oauth.grants.base import GrantContext, TokenRequest
from authgate.oauth.grants.user_tokens import issue_user_tokens
from authgate.oauth.security_events import grant_event

__all__ = ["AuthorizationCodeGrant"]


class AuthorizationCodeGrant:
    """``grant_type=authorization_code``."""

    grant_type = "authorization_code"

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        client, form = request.client, request.form
        code = required(form, "code")
        if "scope" in form:
            raise InvalidRequest("scope is not a parameter of the authorization code grant.")
        try:
            grant = await ctx.codes.redeem(
                code,
                client_id=client.client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except InvalidGrant as exc:
            if "used twice" in exc.reason:
                await ctx.record(
                    grant_event(
                        "oauth.code_replayed", client, None, outcome="failure", reason=exc.reason
                    )
                )
            raise
        return await issue_user_tokens(
            ctx,
            request,
            grant,
            self.grant_type,
            amr=grant.amr,
            nonce=grant.nonce,
            code_id=grant.code_id,
        )
