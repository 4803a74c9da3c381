"""PkiResolver on both backends: identities, caching, revocation, disabled owners, validity."""

from __future__ import annotations

import datetime as dt
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from tests._pki_material import NOW, issue, make_ca, public_pem
from tests.conftest import Accounts

from authgate.accounts.pki import PkiResolver, PkiService
from authgate.runtime import LOCAL_ADMIN, Runtime

CA = make_ca()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def wire(rt: Runtime, clock: Clock | None = None) -> tuple[PkiService, PkiResolver]:
    resolver = PkiResolver(rt.db, clock=clock or time.time)
    service = PkiService(rt.db, rt.users, rt.audit, on_changed=resolver.invalidate)
    # a disabled user must stop every credential: the runtime wires this listener
    rt.resolver.on_invalidate(resolver.invalidate)
    return service, resolver


async def test_public_key_resolves_to_its_owner(runtime: Runtime, accounts: Accounts) -> None:
    alice = await accounts.user("alice", scopes=["read", "write"])
    service, resolver = wire(runtime)
    assert await resolver.resolve_public_key("alice-ed") is None  # remembered as unknown...
    key = ed25519.Ed25519PrivateKey.generate()
    view = await service.add_public_key(
        LOCAL_ADMIN,
        user="alice",
        key_id="alice-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(key),
    )
    cred = await resolver.resolve_public_key("alice-ed")  # ...until the add invalidates
    assert cred is not None
    assert (cred.key_id, cred.algorithm, cred.public_key_pem) == (
        "alice-ed",
        "ed25519",
        public_pem(key),
    )
    ident = cred.identity
    assert (ident.subject, ident.principal_id, ident.credential_id) == ("alice", alice.id, view.id)
    assert ident.scopes == ("read", "write") and ident.roles == ("member",)
    assert await resolver.resolve_public_key("alice-ed") is cred  # cached

    await service.revoke_public_key(LOCAL_ADMIN, view.id)
    assert await resolver.resolve_public_key("alice-ed") is None


async def test_revocation_elsewhere_is_seen_after_invalidate_or_ttl(
    runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("bob")
    service, _ = wire(runtime)
    other = PkiResolver(runtime.db, ttl=0.05)  # another instance: no invalidation reaches it
    view = await service.add_public_key(
        LOCAL_ADMIN,
        user="bob",
        key_id="bob-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(ed25519.Ed25519PrivateKey.generate()),
    )
    assert await other.resolve_public_key("bob-ed") is not None
    await service.revoke_public_key(LOCAL_ADMIN, view.id)
    time.sleep(0.06)
    assert await other.resolve_public_key("bob-ed") is None


async def test_certificate_resolves_and_stops_when_revoked(
    runtime: Runtime, accounts: Accounts
) -> None:
    svc = await accounts.user("svc", scopes=["read"])
    service, resolver = wire(runtime)
    leaf = issue(CA, "svc")
    view = await service.add_certificate(LOCAL_ADMIN, leaf.cert_pem, user="svc")
    thumb = leaf.cert.fingerprint(hashes.SHA256()).hex()
    ident = await resolver.resolve_certificate(thumb.upper())
    assert ident is not None
    assert (ident.subject, ident.principal_id, ident.credential_id, ident.scheme) == (
        "svc",
        svc.id,
        view.id,
        "mtls",
    )
    assert ident.scopes == ("read",)
    assert ident.claims["certificate_subject"] == "CN=svc,O=authgate tests"
    assert ident.expires_at == leaf.cert.not_valid_after_utc.timestamp()
    await service.revoke_certificate(LOCAL_ADMIN, view.id)
    assert await resolver.resolve_certificate(thumb) is None


async def test_disabled_owner_resolves_to_nothing(runtime: Runtime, accounts: Accounts) -> None:
    await accounts.user("carol")
    service, resolver = wire(runtime)
    leaf = issue(CA, "carol")
    await service.add_certificate(LOCAL_ADMIN, leaf.cert_pem, user="carol")
    await service.add_public_key(
        LOCAL_ADMIN,
        user="carol",
        key_id="carol-ed",
        algorithm="ed25519",
        public_key_pem=public_pem(ed25519.Ed25519PrivateKey.generate()),
    )
    thumb = leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert await resolver.resolve_certificate(thumb) is not None
    assert await resolver.resolve_public_key("carol-ed") is not None
    await runtime.users.disable(LOCAL_ADMIN, "carol")
    assert await resolver.resolve_certificate(thumb) is None
    assert await resolver.resolve_public_key("carol-ed") is None


async def test_certificate_outside_validity_resolves_to_nothing(
    runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("dan")
    clock = Clock()
    service, resolver = wire(runtime, clock)
    leaf = issue(CA, "dan", not_after=NOW + dt.timedelta(hours=2))
    await service.add_certificate(LOCAL_ADMIN, leaf.cert_pem, user="dan")
    thumb = leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert await resolver.resolve_certificate(thumb) is not None
    clock.now = leaf.cert.not_valid_after_utc.timestamp()
    assert await resolver.resolve_certificate(thumb) is None  # even from the cache
    clock.now = leaf.cert.not_valid_before_utc.timestamp() - 1
    assert await resolver.resolve_certificate(thumb) is None


class NoDatabase:
    def session(self) -> None:
        raise AssertionError("malformed input reached the database")


async def test_malformed_lookups_never_reach_the_database() -> None:
    resolver = PkiResolver(NoDatabase())  # type: ignore[arg-type]
    for bad in ("", "zz" * 32, "ab" * 31, "ab" * 33, "ä" * 64):
        assert await resolver.resolve_certificate(bad) is None
    assert await resolver.resolve_public_key("") is None
    assert await resolver.resolve_public_key("k" * 201) is None
    assert len(resolver.certs) == 0 and len(resolver.keys) == 0
