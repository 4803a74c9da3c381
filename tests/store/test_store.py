"""The store on SQLite and PostgreSQL: migrations, digests, sealing, lineage, durability."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text
from tests.conftest import Accounts

from authgate.config import Settings
from authgate.crypto.sealing import MasterKeyRing
from authgate.errors import Conflict, InvalidRequest, NotFound
from authgate.home import add_master_key, load_secrets
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.db import Database
from authgate.store.migrate import upgrade
from authgate.store.models import Credential


async def test_migrations_create_schema_and_are_idempotent(runtime: Runtime) -> None:
    await upgrade(runtime.db)  # second run is a no-op
    async with runtime.db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert {"users", "credentials", "audit_events", "alembic_version"} <= tables
    from alembic.script import ScriptDirectory

    from authgate.store.migrate import _config

    assert version == ScriptDirectory.from_config(_config()).get_current_head()


async def test_keys_stored_as_digest_and_secret_sealed(
    accounts: Accounts, runtime: Runtime, settings: Settings
) -> None:
    await accounts.user("s")
    pair = await accounts.key("s", type="key-pair")
    api = await accounts.key("s")
    async with runtime.db.session() as s:
        rows = {c.id: c for c in (await s.scalars(select(Credential))).all()}
    stored_pair, stored_api = rows[pair["id"]], rows[api["id"]]
    secrets = load_secrets(settings.home)
    assert stored_pair.key_digest == secrets.digester.digest(pair["key"])
    assert stored_api.key_digest == secrets.digester.digest(api["key"])
    assert stored_api.secret_sealed is None
    assert stored_pair.secret_sealed and pair["secret"] not in stored_pair.secret_sealed
    opened = secrets.master_keys.unseal(stored_pair.secret_sealed, aad=pair["id"])
    assert opened == pair["secret"]
    assert stored_pair.prefix == pair["key"][:12]


async def test_master_key_rotation_keeps_old_secrets_usable(
    accounts: Accounts, settings: Settings
) -> None:
    await accounts.user("mk")
    before = await accounts.key("mk", type="key-pair")
    new_kid = add_master_key(settings.home)
    rt2 = await Runtime.open(settings, batched_audit=False)
    try:
        pair = await rt2.resolver.resolve_key_pair(before["key"])
        assert pair is not None and pair.secret.reveal() == before["secret"]
        after = (await rt2.keys.create(LOCAL_ADMIN, user="mk", type="key-pair")).as_json()
        async with rt2.db.session() as s:
            sealed = await s.scalar(
                select(Credential.secret_sealed).where(Credential.id == after["id"])
            )
        assert sealed is not None and sealed.startswith(f"v1.{new_kid}.")
        assert isinstance(load_secrets(settings.home).master_keys, MasterKeyRing)
    finally:
        await rt2.close()


async def test_creation_is_durable_before_return(accounts: Accounts, settings: Settings) -> None:
    await accounts.user("d")
    created = await accounts.key("d")
    other = Database(settings.effective_database_url)  # a separate connection pool
    try:
        async with other.session() as s:
            found = await s.scalar(select(Credential.id).where(Credential.id == created["id"]))
        assert found == created["id"]
    finally:
        await other.dispose()


async def test_rotation_lineage_and_grace_expiry(accounts: Accounts, runtime: Runtime) -> None:
    await accounts.user("r")
    first = await accounts.key("r", expires_in=timedelta(days=10))
    second = await runtime.keys.rotate(LOCAL_ADMIN, first["id"], grace=timedelta(hours=1))
    old = await runtime.keys.get(LOCAL_ADMIN, first["id"])
    assert second.view.rotated_from == first["id"]
    assert old.revoked_at is None and old.expires_at is not None
    assert old.expires_at - old.created_at < timedelta(hours=2)
    assert second.view.expires_at is not None
    assert abs((second.view.expires_at - second.view.created_at) - timedelta(days=10)) < timedelta(
        seconds=5
    )


async def test_service_errors_are_clear(accounts: Accounts, runtime: Runtime) -> None:
    await accounts.user("e")
    with pytest.raises(NotFound):
        await runtime.keys.create(LOCAL_ADMIN, user="nobody")
    with pytest.raises(InvalidRequest, match="type"):
        await runtime.keys.create(LOCAL_ADMIN, user="e", type="jwt")
    with pytest.raises(InvalidRequest, match="positive"):
        await runtime.keys.create(LOCAL_ADMIN, user="e", expires_in=timedelta(0))
    with pytest.raises(InvalidRequest, match="scope"):
        await runtime.keys.create(LOCAL_ADMIN, user="e", scopes=["has space"])
    with pytest.raises(Conflict):
        await runtime.users.create(LOCAL_ADMIN, "e")
    with pytest.raises(InvalidRequest, match="key prefix"):
        await runtime.users.create(LOCAL_ADMIN, "agp_sneaky")
    with pytest.raises(InvalidRequest, match="role"):
        await runtime.users.create(LOCAL_ADMIN, "r2", role="root")


async def test_key_lifetime_cap(settings: Settings) -> None:
    capped = settings.model_copy(update={"key_max_lifetime": "7d"})
    rt = await Runtime.open(capped, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "cap")
        with pytest.raises(InvalidRequest, match="maximum"):
            await rt.keys.create(LOCAL_ADMIN, user="cap", expires_in=timedelta(days=8))
        default = await rt.keys.create(LOCAL_ADMIN, user="cap")
        assert default.view.expires_at is not None
    finally:
        await rt.close()
