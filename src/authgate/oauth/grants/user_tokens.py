"""The token response of a user-delegated grant (authorization code, device code).

RFC 6749 §4.1.4 and §5.1; RFC 8628 §3.5; OIDC Core §3.1.3.3 (the ID token with the
``openid`` scope); RFC 6749 §4.1.2 and RFC 9700 §4.2.4 (a replayed code revokes what was
issued with it).
"""

from __future__ import annotations

from typing import Any, Protocol

from authgate.oauth.errors import InvalidGrant
from authgate.oauth.grants.base import GrantContext, TokenRequest, delegable, token_response
from authgate.oauth.security_events import grant_event

__all__ = ["UserGrant", "issue_user_tokens"]


class UserGrant(Protocol):
    """What a user granted (a redeemed authorization or device code)."""

    @property
    def user_id(self) -> str: ...

    @property
    def scopes(self) -> tuple[str, ...]: ...

    @property
    def auth_time(self) -> float: ...


async def issue_user_tokens(
    ctx: GrantContext,
    request: TokenRequest,
    grant: UserGrant,
    grant_type: str,
    *,
    amr: tuple[str, ...] = (),
    nonce: str | None = None,
    code_id: str | None = None,
) -> dict[str, Any]:
    """The token response of a user-delegated grant.

    The access token carries the granted scopes only — never the user's roles: a
    client acts with what the user consented to (least privilege). A refresh family
    is always started (it records the access token, so disabling the user or
    replaying the code revokes it); the refresh token is handed out only to clients
    registered for ``refresh_token``. An ID token is added with the ``openid`` scope.

    Args:
        grant_type: the grant, for the audit record.
        amr: how the user authenticated (the ID token's ``amr``).
        nonce: the authorization request's ``nonce`` (the ID token's).
        code_id: the authorization code redeemed, which the refresh family is attached
            to (None for the device grant).

    Raises:
        InvalidGrant: the user is gone or disabled, or the code was replayed meanwhile.
    """
    client, auth_time = request.client, grant.auth_time
    user = await ctx.load_user(grant.user_id)
    if user is None or user.disabled:
        raise InvalidGrant(reason="user gone or disabled")
    granted = delegable(grant.scopes, client, user)
    access = ctx.tokens.access.issue(
        subject=user.id,
        client_id=client.client_id,
        scopes=granted,
        username=user.name,
        auth_time=auth_time,
        x5t_s256=request.x5t_s256,
    )
    refresh = await ctx.tokens.refresh.issue(
        user_id=user.id,
        client_id=client.client_id,
        scopes=granted,
        auth_time=auth_time,
        access=access,
    )
    if code_id is not None and not await ctx.codes.attach_family(code_id, refresh.family_id):
        await ctx.tokens.refresh.revoke_family(refresh.family_id)
        raise InvalidGrant(reason="code: replayed during redemption")
    await ctx.record(
        grant_event("oauth.token_issued", client, user, grant=grant_type, scopes=list(granted))
    )
    body = token_response(access, granted)
    if "refresh_token" in client.grants:
        body["refresh_token"] = refresh.token
    if "openid" in granted:
        body["id_token"] = ctx.id_tokens.issue(
            subject=user.id,
            client_id=client.client_id,
            auth_time=auth_time,
            nonce=nonce,
            access_token=access.token,
            amr=amr,
            username=user.name if "profile" in granted else None,
        )
    return body
