"""A grant registered in a test works end to end at /oauth/token and in the metadata,
without editing oauth/server.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests._oauth_support import OAuthWorld, basic

from authgate.oauth.errors import InvalidGrant
from authgate.oauth.grants import GrantContext, TokenRequest, default_grants, required
from authgate.oauth.grants.base import token_response
from authgate.oauth.grants.registry import IMPLEMENTED_GRANTS
from authgate.store.models_oauth import OAuthClientRecord

TEAM_GRANT = "urn:example:params:oauth:grant-type:team"


class TeamGrant:
    """Trades a team password for a ``read`` token (a grant authgate does not have)."""

    grant_type = TEAM_GRANT

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        if required(request.form, "team_password") != "open sesame":
            raise InvalidGrant(reason="wrong team password")
        access = ctx.tokens.access.issue(
            subject=request.client.client_id,
            client_id=request.client.client_id,
            scopes=("read",),
            x5t_s256=request.x5t_s256,
        )
        return token_response(access, ("read",))


async def allow_grant(oauth: OAuthWorld, client_id: str, grant: str) -> None:
    """Registration knows only authgate's grants: add one to the client row directly."""
    async with oauth.rt.db.session() as s, s.begin():
        row = await s.scalar(
            select(OAuthClientRecord).where(OAuthClientRecord.client_id == client_id)
        )
        assert row is not None
        row.grants = [*row.grants, grant]
    oauth.rt.oauth.clients.cache.invalidate(client_id)


async def test_a_registered_grant_answers_at_the_token_endpoint(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    auth = basic(c["client_id"], c["client_secret"])
    form = {"grant_type": TEAM_GRANT, "team_password": "open sesame"}

    r = await oauth.token(form, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    meta = (await oauth.client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["grant_types_supported"] == list(IMPLEMENTED_GRANTS)

    oauth.rt.oauth.grants = default_grants(TeamGrant())
    meta = (await oauth.client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["grant_types_supported"] == [*IMPLEMENTED_GRANTS, TEAM_GRANT]
    oidc = (await oauth.client.get("/.well-known/openid-configuration")).json()
    assert oidc["grant_types_supported"] == [*IMPLEMENTED_GRANTS, TEAM_GRANT]

    # the shared steps still run first: a client not registered for the grant is refused
    r = await oauth.token(form, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    await allow_grant(oauth, c["client_id"], TEAM_GRANT)
    r = await oauth.token({**form, "team_password": "guess"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await oauth.token({"grant_type": TEAM_GRANT}, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await oauth.token(form, headers=basic(c["client_id"], "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"

    r = await oauth.token(form, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["scope"] == "read" and body["token_type"] == "Bearer"
    who = await oauth.client.get(
        "/v1/whoami", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert who.status_code == 200, who.text
    assert who.json()["subject"] == c["client_id"]
