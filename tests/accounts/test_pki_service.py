"""PkiService on SQLite and PostgreSQL: registration, ownership, revocation, audit,
and the 0002 migration's tables."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import inspect, select
from tests._pki_material import NOW, issue, make_ca, public_pem
from tests.conftest import Accounts

from authgate.accounts.pki import PkiResolver, PkiService
from authgate.errors import Conflict, InvalidRequest, NotFound
from authgate.identity import Identity
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.models import AuditEvent

CA = make_ca()


def pki(rt: Runtime) -> tuple[PkiService, PkiResolver]:
    resolver = PkiResolver(rt.db)
    return PkiService(rt.db, rt.users, rt.audit, on_changed=resolver.invalidate), resolver


def member(view: object) -> Identity:
    return Identity(
        subject=view.name,  # type: ignore[attr-defined]
        principal_id=view.id,  # type: ignore[attr-defined]
        scheme="basic",
        roles=("member",),
    )


async def events(rt: Runtime) -> list[tuple[str, str | None, dict[str, object]]]:
    async with rt.db.session() as s:
        rows = (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    return [(r.event, r.credential_id, r.detail) for r in rows]


async def test_migration_0002_creates_both_tables_with_unique_lookups(runtime: Runtime) -> None:
    def look(conn: object) -> dict[str, object]:
        insp = inspect(conn)
        return {
            t: {
                "columns": [c["name"] for c in insp.get_columns(t)],
                "unique": sorted(
                    i["column_names"][0] for i in insp.get_indexes(t) if i.get("unique")
                ),
                "fks": [fk["referred_table"] for fk in insp.get_foreign_keys(t)],
            }
            for t in ("public_keys", "certificates")
        }

    async with runtime.db.engine.connect() as conn:
        found = await conn.run_sync(look)
    assert found["public_keys"] == {
        "columns": [
            "id",
            "user_id",
            "key_id",
            "algorithm",
            "public_key_pem",
            "name",
            "created_at",
            "revoked_at",
        ],
        "unique": ["key_id"],
        "fks": ["users"],
    }
    certs = found["certificates"]
    assert certs["unique"] == ["thumbprint_sha256"] and certs["fks"] == ["users"]  # type: ignore[index]
    assert "san" in certs["columns"] and "not_after" in certs["columns"]  # type: ignore[index]


async def test_public_key_lifecycle_and_audit(runtime: Runtime, accounts: Accounts) -> None:
    await accounts.user("alice", scopes=["read"])
    service, _ = pki(runtime)
    key = ed25519.Ed25519PrivateKey.generate()
    view = await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-laptop",
        algorithm="ed25519",
        public_key_pem=public_pem(key),
        name="laptop",
    )
    assert (view.user, view.key_id, view.algorithm, view.name) == (
        "alice",
        "alice-laptop",
        "ed25519",
        "laptop",
    )
    assert view.as_json()["status"] == "active"
    assert view.public_key_pem.encode() == public_pem(key)

    with pytest.raises(Conflict):  # key ids are unique
        await service.add_public_key(
            LOCAL_ADMIN,
            user="alice",
            key_id="alice-laptop",
            algorithm="ed25519",
            public_key_pem=public_pem(ed25519.Ed25519PrivateKey.generate()),
        )
    assert [v.id for v in await service.list_public_keys(LOCAL_ADMIN)] == [view.id]

    revoked = await service.revoke_public_key(LOCAL_ADMIN, view.id)
    assert revoked.revoked_at is not None and revoked.as_json()["status"] == "revoked"
    again = await service.revoke_public_key(LOCAL_ADMIN, view.id)  # idempotent, one event
    assert again.revoked_at == revoked.revoked_at
    listed = await service.list_public_keys(LOCAL_ADMIN, user="alice")
    assert [v.revoked_at is not None for v in listed] == [True]

    pki_events = [e for e in await events(runtime) if e[0].startswith("public_key.")]
    assert [(e[0], e[1]) for e in pki_events] == [
        ("public_key.added", view.id),
        ("public_key.revoked", view.id),
    ]
    assert pki_events[0][2] == {"key_id": "alice-laptop", "algorithm": "ed25519", "name": "laptop"}


async def test_certificate_lifecycle_and_audit(runtime: Runtime, accounts: Accounts) -> None:
    await accounts.user("svc")
    service, _ = pki(runtime)
    leaf = issue(CA, "svc-client")
    view = await service.add_certificate(LOCAL_ADMIN, leaf.cert_pem, user="svc", name="prod")
    assert view.subject == "CN=svc-client,O=authgate tests"
    assert view.san == ["email:svc-client@example.com"]
    assert view.thumbprint_sha256 == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert view.not_after == leaf.cert.not_valid_after_utc
    with pytest.raises(Conflict):  # the same certificate, even as DER
        await service.add_certificate(LOCAL_ADMIN, leaf.cert_der, user="svc")
    revoked = await service.revoke_certificate(LOCAL_ADMIN, view.id)
    assert revoked.status() == "revoked"
    assert [c.as_json()["status"] for c in await service.list_certificates(LOCAL_ADMIN)] == [
        "revoked"
    ]
    names = [e[0] for e in await events(runtime) if e[0].startswith("certificate.")]
    assert names == ["certificate.added", "certificate.revoked"]


async def test_members_manage_only_their_own(runtime: Runtime, accounts: Accounts) -> None:
    alice = member(await accounts.user("alice"))
    await accounts.user("bob")
    service, _ = pki(runtime)
    own = await service.add_public_key(
        alice,
        key_id="alice-ec",
        algorithm="ecdsa-p256-sha256",
        public_key_pem=public_pem(ec.generate_private_key(ec.SECP256R1())),
    )
    assert own.user == "alice"
    bobs_key = await service.add_public_key(
        LOCAL_ADMIN,
        user="bob",
        key_id="bob-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(ed25519.Ed25519PrivateKey.generate()),
    )
    bobs_cert = await service.add_certificate(LOCAL_ADMIN, issue(CA, "bob").cert_pem, user="bob")
    with pytest.raises(NotFound):
        await service.add_certificate(alice, issue(CA, "x").cert_pem, user="bob")
    with pytest.raises(NotFound):
        await service.list_public_keys(alice, user="bob")
    with pytest.raises(NotFound):
        await service.revoke_public_key(alice, bobs_key.id)
    with pytest.raises(NotFound):
        await service.revoke_certificate(alice, bobs_cert.id)
    with pytest.raises(NotFound):  # a missing id answers the same
        await service.revoke_certificate(alice, "0" * 32)
    assert [k.key_id for k in await service.list_public_keys(alice)] == ["alice-ec"]
    assert await service.list_certificates(alice) == []
    assert len(await service.list_public_keys(LOCAL_ADMIN)) == 2
    # bob's entries are untouched
    assert (await service.list_public_keys(LOCAL_ADMIN, user="bob"))[0].revoked_at is None


async def test_disabled_or_unknown_owner_is_refused(runtime: Runtime, accounts: Accounts) -> None:
    await accounts.user("gone")
    await runtime.users.disable(LOCAL_ADMIN, "gone")
    service, _ = pki(runtime)
    with pytest.raises(Conflict):
        await service.add_certificate(LOCAL_ADMIN, issue(CA, "gone").cert_pem, user="gone")
    with pytest.raises(NotFound):
        await service.add_certificate(LOCAL_ADMIN, issue(CA, "n").cert_pem, user="nobody")


async def test_invalid_material_is_refused_and_not_stored(
    runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("alice")
    service, _ = pki(runtime)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused on purpose
    with pytest.raises(InvalidRequest, match="at least 2048"):
        await service.add_public_key(
            LOCAL_ADMIN,
            user="alice",
            key_id="weak",
            algorithm="rsa-sha256",
            public_key_pem=public_pem(weak),
        )
    expired = issue(
        CA, "old", not_before=NOW - dt.timedelta(days=3), not_after=NOW - dt.timedelta(days=1)
    )
    with pytest.raises(InvalidRequest, match="expired"):
        await service.add_certificate(LOCAL_ADMIN, expired.cert_pem, user="alice")
    with pytest.raises(InvalidRequest, match="private key"):
        await service.add_certificate(
            LOCAL_ADMIN, expired.cert_pem + issue(CA, "k").key_pem, user="alice"
        )
    assert await service.list_public_keys(LOCAL_ADMIN) == []
    assert await service.list_certificates(LOCAL_ADMIN) == []
