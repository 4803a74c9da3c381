"""Migration 0008: an admin's key stored without scopes gets its owner's scopes written,
so it keeps its power under the new rule (admin power needs ``authgate:admin`` on the
credential); a member's empty key meant "none" and stays so. SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import httpx2
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, update
from tests.conftest import Accounts

from authgate.runtime import Runtime
from authgate.scopes import ADMIN_SCOPE
from authgate.server import AuthgateServer
from authgate.store.migrate import _config, upgrade
from authgate.store.models import Credential


async def _downgrade(rt: Runtime, revision: str) -> None:
    def run(conn: Connection) -> None:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with rt.db.engine.begin() as conn:
        await conn.run_sync(run)


async def _scopes(rt: Runtime, cred_id: str) -> list[str]:
    async with rt.db.session() as s:
        return list(await s.scalar(select(Credential.scopes).where(Credential.id == cred_id)))


async def test_migration_0008_writes_admin_scopes_on_empty_admin_keys(
    runtime: Runtime, accounts: Accounts, server: AuthgateServer
) -> None:
    script = ScriptDirectory.from_config(_config())
    assert script.get_revision("0008").down_revision == "0007"
    await accounts.user("root", role="admin", scopes=["ops"])
    await accounts.user("bob", scopes=["read"])
    legacy_admin = await accounts.key("root")
    legacy_pair = await accounts.key("root", type="key-pair")
    explicit = await accounts.key("root", scopes=["read"])
    legacy_member = await accounts.key("bob")
    await _downgrade(runtime, "0007")
    # rows as 0007 stored them: no scopes (the old "unscoped" keys)
    async with runtime.db.session() as s, s.begin():
        await s.execute(
            update(Credential)
            .where(Credential.id.in_([legacy_admin["id"], legacy_pair["id"], legacy_member["id"]]))
            .values(scopes=[])
        )
    await upgrade(runtime.db)
    runtime.resolver.invalidate_all()
    assert await _scopes(runtime, legacy_admin["id"]) == [ADMIN_SCOPE, "ops"]
    assert await _scopes(runtime, legacy_pair["id"]) == [ADMIN_SCOPE, "ops"]
    assert await _scopes(runtime, explicit["id"]) == ["read"]  # explicit: unchanged
    assert await _scopes(runtime, legacy_member["id"]) == []  # meant none, stays none
    transport = httpx2.ASGITransport(app=server)
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
        # the admin's legacy key keeps its admin power under the new rule
        r = await c.post(
            "/v1/users", json={"name": "carol"}, headers={"x-api-key": legacy_admin["key"]}
        )
        assert r.status_code == 201, r.text
        raw = f"{legacy_pair['key']}:{legacy_pair['secret']}".encode()
        r = await c.get(
            "/v1/whoami", headers={"authorization": "Basic " + base64.b64encode(raw).decode()}
        )
        assert set(r.json()["scopes"]) == {ADMIN_SCOPE, "ops"}
        r = await c.get("/v1/whoami", headers={"x-api-key": legacy_member["key"]})
        assert r.json()["scopes"] == []
