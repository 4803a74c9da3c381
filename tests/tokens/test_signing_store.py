"""SigningKeyService on SQLite and PostgreSQL: bootstrap, sealing at rest, rotation stages,
JWKS at each stage, old tokens verifying until expiry, other instances, pruning."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from tests._tokens_support import Clock, open_services

from authgate.crypto.sealing import SealError
from authgate.errors import Conflict, InvalidCredentials
from authgate.home import load_secrets
from authgate.runtime import Runtime
from authgate.tokens.signing import SIGNING_ALGORITHMS
from authgate.tokens.signing_store import LocalKeySource, SigningKeyService

DELAY = 900.0


async def rows(rt: Runtime) -> dict[str, dict[str, object]]:
    async with rt.db.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, algorithm, state, private_sealed, public_jwk FROM signing_keys")
        )
        return {r.id: dict(r._mapping) for r in result}


def kids(jwks: dict[str, list[dict[str, object]]]) -> set[object]:
    return {k["kid"] for k in jwks["keys"]}


async def test_start_creates_one_active_key_per_algorithm_once(runtime: Runtime) -> None:
    clock = Clock()
    services = await open_services(runtime, clock)
    stored = await rows(runtime)
    assert sorted(r["algorithm"] for r in stored.values()) == sorted(SIGNING_ALGORITHMS)
    assert {r["state"] for r in stored.values()} == {"active"}
    # a second instance (or restart) reuses them
    again = await open_services(runtime, clock)
    assert (await rows(runtime)).keys() == stored.keys()
    assert kids(again.signing.ring.jwks(clock())) == set(stored)
    assert kids(services.signing.ring.jwks(clock())) == set(stored)


async def test_private_keys_are_sealed_at_rest_bound_to_their_kid(runtime: Runtime) -> None:
    clock = Clock()
    services = await open_services(runtime, clock)
    master = load_secrets(runtime.settings.home).master_keys
    async with runtime.db.engine.connect() as conn:
        dump = "\n".join(
            str(tuple(r)) for r in await conn.execute(text("SELECT * FROM signing_keys"))
        )
    for key in services.signing.ring.keys:
        private = key.private.as_dict(private=True)
        for member in ("d", "p", "q", "dp", "dq", "qi"):
            if member in private:
                assert str(private[member]) not in dump
        stored = (await rows(runtime))[key.kid]
        assert str(stored["private_sealed"]).startswith("v1.")
        public = stored["public_jwk"]
        public = json.loads(public) if isinstance(public, str) else public
        assert "d" not in public
        # the kid is the associated data: the sealed value cannot move to another row
        with pytest.raises(SealError):
            master.unseal(str(stored["private_sealed"]), aad="another-kid")
        assert json.loads(master.unseal(str(stored["private_sealed"]), aad=key.kid))["d"]


async def test_rotation_next_active_retired_and_jwks_at_each_stage(runtime: Runtime) -> None:
    clock = Clock()
    services = await open_services(runtime, clock, publish_delay=DELAY)
    signing = services.signing
    old = signing.ring.active("EdDSA", clock())
    token_before = services.access.issue(subject="u1", client_id="c1", scopes=["read"])

    (new_kid,) = await signing.rotate(["EdDSA"])
    assert (await rows(runtime))[new_kid]["state"] == "next"
    # stage 1: published, not signing
    assert {old.kid, new_kid} <= kids(signing.ring.jwks(clock()))
    assert signing.ring.active("EdDSA", clock()).kid == old.kid
    with pytest.raises(Conflict):
        await signing.rotate(["EdDSA"])

    # stage 2: after the publish delay the new key signs; the old one is retired
    clock.advance(DELAY)
    token_after = services.access.issue(subject="u1", client_id="c1", scopes=["read"])
    assert signing.ring.active("EdDSA", clock()).kid == new_kid
    await signing.load()
    states = {k: r["state"] for k, r in (await rows(runtime)).items()}
    assert states[new_kid] == "active" and states[old.kid] == "retired"
    assert {old.kid, new_kid} <= kids(signing.ring.jwks(clock()))

    # the old key's token verifies until it expires; the new key's token verifies too
    assert (await services.verifier.verify(token_before.token)).principal_id == "u1"
    assert (await services.verifier.verify(token_after.token)).principal_id == "u1"
    clock.now = token_before.expires_at - 1
    assert (await services.verifier.verify(token_before.token)).principal_id == "u1"
    clock.now = token_before.expires_at + 31
    with pytest.raises(InvalidCredentials):
        await services.verifier.verify(token_before.token)

    # stage 3: retired_at + max token lifetime → the old key leaves the JWKS, then the DB
    retired = signing.ring.get(old.kid)
    assert retired is not None and retired.expires_at is not None
    assert retired.expires_at == pytest.approx(
        retired.retired_at + services.config.access_token_lifetime + services.config.leeway  # type: ignore[operator]
    )
    clock.now = retired.expires_at
    await signing.load()
    assert old.kid not in kids(signing.ring.jwks(clock()))
    assert new_kid in kids(signing.ring.jwks(clock()))
    assert await signing.prune() == 1
    assert old.kid not in await rows(runtime)


async def test_other_instance_learns_a_new_key_by_kid_or_by_refresh(runtime: Runtime) -> None:
    clock = Clock()
    a = await open_services(runtime, clock, publish_delay=DELAY)
    b = await open_services(runtime, clock, publish_delay=DELAY)
    (new_kid,) = await a.signing.rotate(["ES256"])
    assert b.signing.ring.get(new_kid) is None
    # a token naming the unknown kid makes B reload (rate-limited)
    ring = await LocalKeySource(b.signing).get_keys(new_kid)
    assert new_kid in ring
    # and periodic refresh brings every rotation within key_refresh_interval
    (rsa_kid,) = await a.signing.rotate(["RS256"])
    clock.advance(b.config.key_refresh_interval)
    assert (await b.signing.refresh_if_stale()).get(rsa_kid) is not None


async def test_unknown_kid_reloads_at_most_once_per_second(runtime: Runtime) -> None:
    clock = Clock()
    services = await open_services(runtime, clock)
    source = LocalKeySource(services.signing)
    queries = 0
    original = services.signing.load

    async def counting() -> object:
        nonlocal queries
        queries += 1
        return await original()

    services.signing.load = counting  # type: ignore[method-assign]
    for i in range(50):
        await source.get_keys(f"random-{i}")
    assert queries == 1


async def test_configuration_is_checked(runtime: Runtime) -> None:
    master = load_secrets(runtime.settings.home).master_keys
    with pytest.raises(ValueError):
        SigningKeyService(runtime.db, master, publish_delay=60, refresh_interval=60)
    with pytest.raises(ValueError):
        SigningKeyService(runtime.db, master, algorithms=["HS256"])
