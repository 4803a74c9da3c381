"""/v1/keys, /v1/users, /v1/audit: contract shapes, members vs admins (OWASP API1/API5)."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from tests.conftest import Accounts, make_settings

from authgate.runtime import Runtime
from authgate.server import AuthgateServer


@pytest.fixture
async def people(accounts: Accounts) -> dict[str, dict[str, str]]:
    await accounts.user("root", role="admin")
    await accounts.user("alice", password="alice first password", scopes=["read", "write"])
    await accounts.user("bob", scopes=["read"])
    return {
        name: {"X-API-Key": (await accounts.key(name, scopes=scopes))["key"]}
        for name, scopes in (("root", []), ("alice", ["read", "write"]), ("bob", ["read"]))
    }


async def test_create_key_contract_shape(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    r = await client.post(
        "/v1/keys",
        json={"name": "laptop", "scopes": ["write", "read"], "expires_in": "30d"},
        headers=people["alice"],
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert list(body) == ["id", "type", "key", "prefix", "name", "scopes", "expires_at"]
    assert body["type"] == "api-key" and body["key"].startswith(body["prefix"])
    assert body["scopes"] == ["read", "write"] and body["expires_at"].endswith("Z")
    pair = (
        await client.post("/v1/keys", json={"type": "key-pair"}, headers=people["alice"])
    ).json()
    assert list(pair) == ["id", "type", "key", "secret", "prefix", "name", "scopes", "expires_at"]
    assert pair["expires_at"] is None


async def test_list_and_get_never_show_secrets(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    created = (
        await client.post("/v1/keys", json={"type": "key-pair"}, headers=people["alice"])
    ).json()
    listing = await client.get("/v1/keys", headers=people["alice"])
    assert created["key"] not in listing.text and created["secret"] not in listing.text
    one = await client.get(f"/v1/keys/{created['id']}", headers=people["alice"])
    assert one.status_code == 200 and created["key"] not in one.text
    assert "key" not in one.json() and "secret" not in one.json()
    assert one.json()["status"] == "active" and one.json()["user"] == "alice"


async def test_member_sees_only_own_keys(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    mine = (await client.get("/v1/keys", headers=people["alice"])).json()["keys"]
    assert {k["user"] for k in mine} == {"alice"}
    everyone = (await client.get("/v1/keys", headers=people["root"])).json()["keys"]
    assert {k["user"] for k in everyone} == {"root", "alice", "bob"}
    r = await client.get("/v1/keys", params={"user": "bob"}, headers=people["alice"])
    assert r.status_code == 404


async def test_member_cannot_touch_another_users_key(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    bobs = (await client.get("/v1/keys", headers=people["bob"])).json()["keys"][0]["id"]
    missing = await client.get("/v1/keys/" + "0" * 32, headers=people["alice"])
    for method, path in [
        ("GET", f"/v1/keys/{bobs}"),
        ("POST", f"/v1/keys/{bobs}/revoke"),
        ("DELETE", f"/v1/keys/{bobs}"),
        ("POST", f"/v1/keys/{bobs}/rotate"),
    ]:
        r = await client.request(method, path, headers=people["alice"])
        assert r.status_code == 404, (method, path)
        assert r.content == missing.content  # indistinguishable from a missing key
    still = await client.get("/v1/whoami", headers=people["bob"])
    assert still.status_code == 200


async def test_member_cannot_create_key_for_another_user(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    r = await client.post("/v1/keys", json={"user": "bob"}, headers=people["alice"])
    assert r.status_code == 404
    r = await client.post("/v1/keys", json={"user": "alice"}, headers=people["root"])
    assert r.status_code == 201


async def test_scopes_beyond_owner_refused(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    r = await client.post("/v1/keys", json={"scopes": ["admin"]}, headers=people["alice"])
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    # an admin creating a key for a member is held to the member's scopes too
    r = await client.post(
        "/v1/keys", json={"user": "bob", "scopes": ["write"]}, headers=people["root"]
    )
    assert r.status_code == 403


async def test_mass_assignment_refused(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    for extra in ({"role": "admin"}, {"user_id": "x"}, {"revoked_at": None}, {"id": "mine"}):
        r = await client.post("/v1/keys", json={"name": "x", **extra}, headers=people["alice"])
        assert r.status_code == 400, extra
        assert r.json()["error"] == "invalid_request"


async def test_member_cannot_reach_admin_functions(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    r = await client.post(
        "/v1/users", json={"name": "mallory", "role": "admin"}, headers=people["alice"]
    )
    assert r.status_code == 403
    r = await client.post("/v1/users/bob/disable", headers=people["alice"])
    assert r.status_code == 404
    r = await client.get("/v1/users/bob", headers=people["alice"])
    assert r.status_code == 404
    users = (await client.get("/v1/users", headers=people["alice"])).json()["users"]
    assert [u["name"] for u in users] == ["alice"]
    r = await client.put(
        "/v1/users/bob/password", json={"password": "hijacked pw 1"}, headers=people["alice"]
    )
    assert r.status_code == 404


async def test_admin_manages_users(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    r = await client.post(
        "/v1/users", json={"name": "carol", "scopes": ["read"]}, headers=people["root"]
    )
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "carol" and body["role"] == "member" and len(body["password"]) >= 20
    basic = httpx2.BasicAuth("carol", body["password"])
    assert (await client.get("/v1/whoami", auth=basic)).status_code == 200
    r = await client.post("/v1/users", json={"name": "carol"}, headers=people["root"])
    assert r.status_code == 409
    r = await client.post(
        "/v1/users", json={"name": "weak", "password": "password"}, headers=people["root"]
    )
    assert r.status_code == 400 and "common" in r.json()["error_description"]
    r = await client.post("/v1/users", json={"name": "bad name!"}, headers=people["root"])
    assert r.status_code == 400
    r = await client.post("/v1/users/carol/disable", headers=people["root"])
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (await client.get("/v1/whoami", auth=basic)).status_code == 401


async def test_member_changes_own_password_only_with_the_current_one(
    client: httpx2.AsyncClient, accounts: Accounts, people: dict[str, dict[str, str]]
) -> None:
    url = "/v1/users/alice/password"
    new = {"password": "alices new password"}
    r = await client.put(url, json=new, headers=people["alice"])
    assert r.status_code == 401  # a key alone cannot become a password login
    wrong = {**new, "current_password": "not it at all"}
    assert (await client.put(url, json=wrong, headers=people["alice"])).status_code == 401
    right = {**new, "current_password": "alice first password"}
    assert (await client.put(url, json=right, headers=people["alice"])).status_code == 204
    auth = httpx2.BasicAuth("alice", "alices new password")
    assert (await client.get("/v1/whoami", auth=auth)).status_code == 200
    # an admin sets another user's password without knowing the old one
    r = await client.put(url, json={"password": "reset by admin 1"}, headers=people["root"])
    assert r.status_code == 204


async def test_a_credential_never_grants_more_than_it_holds(
    client: httpx2.AsyncClient, accounts: Accounts, people: dict[str, dict[str, str]]
) -> None:
    from datetime import timedelta

    narrow = await accounts.key("alice", scopes=["read"], expires_in=timedelta(days=1))
    h = {"X-API-Key": narrow["key"]}
    r = await client.post("/v1/keys", json={"scopes": ["read", "write"]}, headers=h)
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    r = await client.post("/v1/keys", json={"scopes": ["read"], "expires_in": "30d"}, headers=h)
    assert r.status_code == 201
    assert r.json()["expires_at"] <= narrow["expires_at"]  # never outlives its maker
    r = await client.post("/v1/keys", json={}, headers=h)
    assert r.json()["expires_at"] == narrow["expires_at"]
    # the owner's password login holds all the owner's scopes
    basic = httpx2.BasicAuth("alice", "alice first password")
    r = await client.post("/v1/keys", json={"scopes": ["read", "write"]}, auth=basic)
    assert r.status_code == 201


async def test_scoped_admin_keys_act_as_admin_only_with_the_admin_scope(
    client: httpx2.AsyncClient, accounts: Accounts, people: dict[str, dict[str, str]]
) -> None:
    scoped = {"X-API-Key": (await accounts.key("root", scopes=["read"]))["key"]}
    assert (await client.post("/v1/users", json={"name": "x1"}, headers=scoped)).status_code == 403
    assert (await client.get("/v1/users/bob", headers=scoped)).status_code == 404
    admin_scoped = {"X-API-Key": (await accounts.key("root", scopes=["authgate:admin"]))["key"]}
    r = await client.post("/v1/users", json={"name": "x2"}, headers=admin_scoped)
    assert r.status_code == 201
    assert (
        await client.post("/v1/users", json={"name": "x3"}, headers=people["root"])
    ).status_code == 201


async def test_audit_visibility(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    await client.post("/v1/keys", json={"name": "a"}, headers=people["alice"])
    await client.post("/v1/keys", json={"name": "b"}, headers=people["bob"])
    await client.get("/v1/whoami", headers={"X-API-Key": "agk_wrong"})
    admin_view = (await client.get("/v1/audit", headers=people["root"])).json()["events"]
    events = {e["event"] for e in admin_view}
    assert {"key.created", "user.created", "auth.failure"} <= events
    failure = next(e for e in admin_view if e["event"] == "auth.failure")
    assert failure["client_ip"] == "203.0.113.7" and failure["at"].endswith("Z")
    alice_view = (await client.get("/v1/audit", headers=people["alice"])).json()["events"]
    alice_id = (await client.get("/v1/whoami", headers=people["alice"])).json()["principal_id"]
    assert alice_view and all(alice_id in (e["actor_id"], e["target_user_id"]) for e in alice_view)
    filtered = (
        await client.get(
            "/v1/audit", params={"event": "key.created", "limit": 1}, headers=people["root"]
        )
    ).json()
    assert len(filtered["events"]) == 1 and filtered["next_before_id"] is not None


async def test_admin_api_requires_credentials(client: httpx2.AsyncClient) -> None:
    for path in ("/v1/keys", "/v1/users", "/v1/audit", "/v1/whoami"):
        r = await client.get(path)
        assert r.status_code == 401
        assert r.json()["error"] == "unauthorized"
        assert "ApiKey" in r.headers["www-authenticate"]


async def test_health_and_ready(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_openapi_declares_security_schemes(client: httpx2.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Basic"]["scheme"] == "basic"
    assert {"/v1/keys", "/v1/users", "/v1/audit", "/v1/whoami", "/healthz"} <= set(doc["paths"])
    assert doc["paths"]["/v1/keys"]["post"]["security"]


async def test_openapi_names_the_configured_api_key_header(tmp_path: Path) -> None:
    server = AuthgateServer(make_settings(tmp_path, api_key_header="X-Custom-Key"))
    transport = httpx2.ASGITransport(app=server.api)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        doc = (await c.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-Custom-Key"}
    assert doc["paths"]["/v1/keys"]["post"]["security"][0] == {"ApiKeyHeader": []}
