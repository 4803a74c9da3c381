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


async def _tokens(client: httpx2.AsyncClient, pair: dict[str, str]) -> dict[str, str]:
    r = await client.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_disabling_a_user_kills_their_access_tokens(
    client: httpx2.AsyncClient, runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("adm", role="admin")
    pair = await accounts.key("adm", type="key-pair")
    bearer = {"Authorization": f"Bearer {(await _tokens(client, pair))['access_token']}"}
    assert (await client.get("/v1/users", headers=bearer)).status_code == 200
    await runtime.users.disable(LOCAL_ADMIN, "adm")
    assert (await client.get("/v1/whoami", headers=bearer)).status_code == 401
    assert (await client.get("/v1/users", headers=bearer)).status_code == 401


async def test_revocation_retry_finishes_denying_tokens_and_is_audited(
    client: httpx2.AsyncClient, runtime: Runtime, accounts: Accounts
) -> None:
    from sqlalchemy import select

    from authgate.store.models import AuditEvent
    from authgate.tokens.revocation import RevocationUnavailable

    await accounts.user("r2")
    pair = await accounts.key("r2", type="key-pair")
    bearer = {"Authorization": f"Bearer {(await _tokens(client, pair))['access_token']}"}
    real = runtime.keys.after_revoke

    async def deny_list_down(credential_id: str) -> object:
        raise RevocationUnavailable("deny-list unreachable")

    runtime.keys.after_revoke = deny_list_down
    try:
        await runtime.keys.revoke(LOCAL_ADMIN, pair["id"])
    except RevocationUnavailable:
        pass
    async with runtime.db.session() as s:
        events = (await s.scalars(select(AuditEvent.event))).all()
    assert "key.revoked" in events  # recorded although denying the tokens failed
    runtime.keys.after_revoke = real
    await runtime.keys.revoke(LOCAL_ADMIN, pair["id"])  # the retry
    assert (await client.get("/v1/whoami", headers=bearer)).status_code == 401
