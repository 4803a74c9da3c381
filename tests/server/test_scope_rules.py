"""Issue 8 items 1–3 over HTTP: a credential never creates a more powerful one.

DESIGN.md invariant: created keys, clients and temporary credentials carry a non-empty
subset of the creating credential's scopes; a key without scopes takes its owner's
scopes (shown in the JSON); admin power needs ``authgate:admin`` on the credential.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest
from tests.conftest import Accounts

from authgate.scopes import ADMIN_SCOPE

PASSWORD = "correct horse battery staple"


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def api_key(key: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": key["key"]}


@pytest.fixture
async def people(accounts: Accounts) -> Accounts:
    """``root``: an admin holding ``ops``; ``bob``: a member holding ``read`` and ``write``."""
    await accounts.user("root", role="admin", password=PASSWORD, scopes=["ops"])
    await accounts.user("bob", password=PASSWORD, scopes=["read", "write"])
    return accounts


# -- item 1: a scoped credential of an admin mints nothing wider -------------------------


async def test_scoped_admin_key_gets_a_key_with_exactly_its_scopes(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    scoped = await people.key("root", scopes=["read"])
    r = await client.post("/v1/keys", json={"name": "esc"}, headers=api_key(scoped))
    assert r.status_code == 201, r.text
    minted = r.json()
    assert minted["scopes"] == ["read"]
    for key in (scoped, minted):  # neither one creates users
        r = await client.post(
            "/v1/users", json={"name": "evil", "role": "admin"}, headers=api_key(key)
        )
        assert r.status_code == 403, r.text
    r = await client.get("/v1/whoami", headers=api_key(minted))
    assert r.json()["scopes"] == ["read"]


async def test_scoped_admin_key_cannot_name_wider_scopes(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    scoped = await people.key("root", scopes=["read"])
    for wanted in (["read", "write"], [ADMIN_SCOPE], ["ops"]):
        r = await client.post("/v1/keys", json={"scopes": wanted}, headers=api_key(scoped))
        assert r.status_code == 403 and r.json()["error"] == "invalid_scope", (wanted, r.text)


async def test_admin_scope_only_for_admin_owners(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.post(
        "/v1/keys", json={"user": "bob", "scopes": [ADMIN_SCOPE]}, headers=basic("root")
    )
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"


async def test_admin_key_with_admin_scope_keeps_admin_power(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    admin_key = await people.key("root", scopes=["read", ADMIN_SCOPE])
    r = await client.post("/v1/users", json={"name": "carol"}, headers=api_key(admin_key))
    assert r.status_code == 201, r.text
    # as admin it may give another user's key any scope that user holds
    r = await client.post(
        "/v1/keys", json={"user": "bob", "scopes": ["write"]}, headers=api_key(admin_key)
    )
    assert r.status_code == 201 and r.json()["scopes"] == ["write"]


# -- item 2: one meaning for "no scopes" --------------------------------------------------


async def test_key_without_scopes_has_its_owners_scopes_member(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.post("/v1/keys", json={}, headers=basic("bob"))
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["read", "write"]
    listed = await client.get(f"/v1/keys/{r.json()['id']}", headers=basic("bob"))
    assert listed.json()["scopes"] == ["read", "write"]
    # the CLI's identity (the operator) gives the same default
    assert (await people.key("bob"))["scopes"] == ["read", "write"]


async def test_key_without_scopes_has_its_owners_scopes_admin(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.post("/v1/keys", json={"name": "full"}, headers=basic("root"))
    assert r.status_code == 201, r.text
    full = r.json()
    assert full["scopes"] == [ADMIN_SCOPE, "ops"]
    assert (await people.key("root"))["scopes"] == [ADMIN_SCOPE, "ops"]
    r = await client.post("/v1/users", json={"name": "dave"}, headers=api_key(full))
    assert r.status_code == 201, r.text


async def test_member_scoped_key_without_scopes_takes_its_own(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    read = await people.key("bob", scopes=["read"])
    r = await client.post("/v1/keys", json={}, headers=api_key(read))
    assert r.status_code == 201 and r.json()["scopes"] == ["read"]
    r = await client.post("/v1/keys", json={"scopes": ["write"]}, headers=api_key(read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"


async def test_password_login_of_admin_carries_admin_scope(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.get("/v1/whoami", headers=basic("root"))
    assert r.json()["scopes"] == ["ops", ADMIN_SCOPE]
    r = await client.get("/v1/whoami", headers=basic("bob"))
    assert r.json()["scopes"] == ["read", "write"]


async def test_member_without_scopes_gets_a_key_without_scopes(
    accounts: Accounts, client: httpx2.AsyncClient
) -> None:
    """The ``users create`` / ``keys create`` contract: a scopeless member's key carries
    no scopes (and means none: it authenticates, nothing more)."""
    await accounts.user("plain")
    key = await accounts.key("plain")
    assert key["scopes"] == []
    r = await client.post("/v1/keys", json={}, headers=api_key(key))
    assert r.status_code == 201 and r.json()["scopes"] == []
    assert (await client.get("/v1/whoami", headers=api_key(key))).json()["scopes"] == []


# -- item 3: OAuth clients ----------------------------------------------------------------


async def test_read_key_cannot_register_a_read_write_client(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    for owner in ("bob", "root"):
        read = await people.key(owner, scopes=["read"])
        r = await client.post(
            "/v1/clients",
            json={"name": "c", "grants": ["client_credentials"], "scopes": ["read", "write"]},
            headers=api_key(read),
        )
        assert r.status_code == 403 and r.json()["error"] == "invalid_scope", (owner, r.text)
        r = await client.post(
            "/v1/clients",
            json={"name": "c", "grants": ["client_credentials"]},
            headers=api_key(read),
        )
        assert r.status_code == 201, r.text
        assert r.json()["scopes"] == ["read"]


async def test_client_without_scopes_takes_owner_scopes_but_reserved(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.post(
        "/v1/clients", json={"name": "c", "grants": ["client_credentials"]}, headers=basic("root")
    )
    assert r.status_code == 201 and r.json()["scopes"] == ["ops"]  # never authgate:admin
    r = await client.post(
        "/v1/clients", json={"name": "c", "grants": ["client_credentials"]}, headers=basic("bob")
    )
    assert r.status_code == 201 and r.json()["scopes"] == ["read", "write"]


async def test_scoped_key_cannot_rotate_a_wider_clients_secret(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    r = await client.post(
        "/v1/clients",
        json={"name": "c", "grants": ["client_credentials"], "scopes": ["read", "write"]},
        headers=basic("bob"),
    )
    assert r.status_code == 201, r.text
    client_id = r.json()["client_id"]
    read = await people.key("bob", scopes=["read"])
    r = await client.post(f"/v1/clients/{client_id}/rotate-secret", headers=api_key(read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    full = await people.key("bob", scopes=["read", "write"])
    r = await client.post(f"/v1/clients/{client_id}/rotate-secret", headers=api_key(full))
    assert r.status_code == 201 and r.json()["client_secret"]


# -- rotation and temporary credentials ---------------------------------------------------


async def test_rotation_needs_the_rotated_keys_scopes(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    full = await people.key("bob", scopes=["read", "write"])
    read = await people.key("bob", scopes=["read"])
    r = await client.post(f"/v1/keys/{full['id']}/rotate", headers=api_key(read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    r = await client.post(f"/v1/keys/{read['id']}/rotate", headers=api_key(read))
    assert r.status_code == 201 and r.json()["scopes"] == ["read"]
    admin_full = await people.key("root")
    admin_read = await people.key("root", scopes=["read"])
    r = await client.post(f"/v1/keys/{admin_full['id']}/rotate", headers=api_key(admin_read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"


async def test_temporary_credentials_obey_the_rule(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    read = await people.key("root", scopes=["read"])
    r = await client.post("/v1/keys/temporary", json={}, headers=api_key(read))
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["read"]
    r = await client.post("/v1/keys/temporary", json={"scopes": ["ops"]}, headers=api_key(read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    r = await client.post("/v1/keys/temporary", json={}, headers=basic("bob"))
    assert r.status_code == 201 and r.json()["scopes"] == ["read", "write"]


async def test_key_pair_without_scopes_takes_the_creators(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    read = await people.key("root", scopes=["read"])
    r = await client.post("/v1/keys", json={"type": "key-pair"}, headers=api_key(read))
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["read"] and "secret" in r.json()


# -- public keys and certificates carry the owner's scopes: only a full credential adds one


async def test_scoped_key_cannot_register_a_public_key(
    people: Accounts, client: httpx2.AsyncClient
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    body = {"key_id": "k1", "algorithm": "ed25519", "public_key_pem": pem}
    read = await people.key("bob", scopes=["read"])
    r = await client.post("/v1/public-keys", json=body, headers=api_key(read))
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    admin_read = await people.key("root", scopes=["read", "ops"])
    r = await client.post("/v1/public-keys", json=body, headers=api_key(admin_read))
    assert r.status_code == 403  # the key would carry authgate:admin
    r = await client.post("/v1/public-keys", json=body, headers=basic("bob"))
    assert r.status_code == 201, r.text
