"""The verified-identity shortcut must never change an answer the chain would give."""

from __future__ import annotations

import base64

import httpx2
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN, Runtime


async def _warm(client: httpx2.AsyncClient, headers: dict[str, str]) -> None:
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 200
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 200


async def test_entries_keyed_by_hmac_not_by_credential(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("f")
    key = (await accounts.key("f"))["key"]
    await _warm(client, {"X-API-Key": key})
    assert len(runtime.verified) == 1
    assert key not in repr(runtime.verified._entries)


async def test_second_credential_still_refused_after_warm(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("g", password="g's password")
    key = (await accounts.key("g"))["key"]
    await _warm(client, {"X-API-Key": key})
    basic = "Basic " + base64.b64encode(b"g:g's password").decode()
    r = await client.get("/v1/whoami", headers={"X-API-Key": key, "Authorization": basic})
    assert r.status_code == 400
    r = await client.get("/v1/whoami", headers=[("X-API-Key", key), ("X-API-Key", key)])
    assert r.status_code == 400
    r = await client.get("/v1/whoami", headers=[("X-API-Key", key), ("Host", "a"), ("Host", "b")])
    assert r.status_code == 400


async def test_revocation_disable_and_rotation_clear_the_shortcut(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("h")
    k1 = await accounts.key("h")
    k2 = await accounts.key("h")
    await _warm(client, {"X-API-Key": k1["key"]})
    await _warm(client, {"X-API-Key": k2["key"]})
    await runtime.keys.revoke(LOCAL_ADMIN, k1["id"])
    assert len(runtime.verified) == 0
    assert (await client.get("/v1/whoami", headers={"X-API-Key": k1["key"]})).status_code == 401
    assert (await client.get("/v1/whoami", headers={"X-API-Key": k2["key"]})).status_code == 200
    await runtime.users.disable(LOCAL_ADMIN, "h")
    assert (await client.get("/v1/whoami", headers={"X-API-Key": k2["key"]})).status_code == 401


async def test_failures_are_never_cached(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("i")
    await client.get("/v1/whoami", headers={"X-API-Key": "agk_" + "x" * 44})
    assert len(runtime.verified) == 0


async def test_failures_on_the_fast_path_still_audited(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("j")
    key = (await accounts.key("j"))["key"]
    await _warm(client, {"X-API-Key": key})
    await client.get("/v1/whoami", headers=[("X-API-Key", key), ("X-API-Key", key)])
    from sqlalchemy import select

    from authgate.store.models import AuditEvent

    async with runtime.db.session() as s:
        failures = (
            await s.scalars(select(AuditEvent).where(AuditEvent.event == "auth.failure"))
        ).all()
    assert [f.detail["reason"] for f in failures] == ["duplicate x-api-key header"]
    assert failures[0].client_ip == "203.0.113.7"


async def test_interleaved_duplicate_authorization_refused(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("k")
    key = (await accounts.key("k"))["key"]
    headers = [("Authorization", "Foo a"), ("X-API-Key", key), ("Authorization", "Foo b")]
    r = await client.get("/v1/whoami", headers=headers)
    assert r.status_code == 400 and "duplicate authorization" in r.json()["error_description"]


async def test_api_key_with_any_authorization_header_is_two_credentials(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("alice")
    await accounts.user("bob")
    alice = (await accounts.key("alice"))["key"]
    bob = (await accounts.key("bob"))["key"]
    await _warm(client, {"X-API-Key": alice})
    for auth in (f"Bearer {bob}", "Bearer garbage", f"ApiKey {bob}"):
        r = await client.get("/v1/whoami", headers={"X-API-Key": alice, "Authorization": auth})
        assert r.status_code == 400, auth


async def test_shortcut_answers_exactly_as_the_chain_for_credential_queries(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("q")
    key = (await accounts.key("q"))["key"]
    queries = (
        "?oauth_signature=1",
        "?OAUTH_SIGNATURE=1",
        "?oauth%5Fsignature=1",
        "?x=oauth_signature&oauth%5Fsignature=1",
        "?X-Amz-Signature=abc",
        "?x=oauth_signature",
    )
    cold = [
        (await client.get("/v1/whoami" + q, headers={"X-API-Key": key})).status_code
        for q in queries
    ]
    await _warm(client, {"X-API-Key": key})
    for q, before in zip(queries, cold, strict=True):
        after = (await client.get("/v1/whoami" + q, headers={"X-API-Key": key})).status_code
        assert after == before, q
    assert cold[0] == 400  # an OAuth 1.0a signature in the query is a second credential
    assert cold[-1] == 200  # a value that merely names a parameter is not one
