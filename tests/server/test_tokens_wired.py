"""authgate's own tokens through the server as wired by Runtime (no test-only wiring)."""

from __future__ import annotations

import httpx2
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN, Runtime


async def test_exchange_whoami_and_revocation(
    client: httpx2.AsyncClient, runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("kp", scopes=["read"])
    pair = await accounts.key("kp", type="key-pair", scopes=["read"])
    r = await client.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    me = (await client.get("/v1/whoami", headers=bearer)).json()
    assert me["scheme"] == "bearer" and me["subject"] == "kp"
    assert me["credential_id"] == pair["id"] and me["scopes"] == ["read"]
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and jwks.json()["keys"]

    # revoking the key pair revokes what was issued for it: access and refresh tokens
    await runtime.keys.revoke(LOCAL_ADMIN, pair["id"])
    assert (await client.get("/v1/whoami", headers=bearer)).status_code == 401
    r = await client.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401


async def test_lone_surrogates_are_a_400_not_a_500(client: httpx2.AsyncClient) -> None:
    for body in (
        '{"api_key":"\\ud800","api_secret":"x"}',
        '{"api_key":"agp_x","api_secret":"\\udfff"}',
    ):
        r = await client.post("/auth", content=body, headers={"content-type": "application/json"})
        assert r.status_code in (400, 401), body
        assert r.json()["error"] in ("invalid_request", "invalid_token")
