"""Refresh tokens on SQLite and PostgreSQL (RFC 6749 §6, RFC 9700 §4.14.2): digests only,
rotation, replay revokes the family and its access tokens, expiry (sliding and absolute),
wider scope, other client, concurrent redemption, the key pair's own life."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from tests._tokens_support import Clock, open_services
from tests.conftest import Accounts

from authgate.crypto.keys import is_well_formed
from authgate.errors import InvalidCredentials, InvalidScope
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.tokens.exchange import TokenPair
from authgate.tokens.refresh import REFRESH_TOKEN_PREFIX
from authgate.tokens.services import TokenServices

DAY = 86400


async def setup(
    runtime: Runtime, accounts: Accounts, clock: Clock, **config: Any
) -> tuple[TokenServices, dict[str, Any]]:
    await accounts.user("alice", scopes=["read", "write"])
    pair = await accounts.key("alice", type="key-pair", scopes=["read", "write"])
    services = await open_services(runtime, clock, **config)
    return services, pair


async def exchange(services: TokenServices, pair: dict[str, Any]) -> TokenPair:
    return await services.exchange.exchange(pair["key"], pair["secret"])


async def test_issued_token_is_stored_as_a_digest_only(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    tokens = await exchange(services, pair)
    token = tokens.refresh.token
    assert token.startswith(REFRESH_TOKEN_PREFIX) and is_well_formed(token, REFRESH_TOKEN_PREFIX)
    async with runtime.db.engine.connect() as conn:
        dump = str((await conn.execute(text("SELECT * FROM refresh_tokens"))).all())
        digest = (await conn.execute(text("SELECT digest FROM refresh_tokens"))).scalar_one()
    assert token not in dump and token[4:] not in dump
    assert digest == services.refresh.digest(token) and len(digest) == 64
    assert "token=***" in repr(tokens.refresh)


async def test_rotation_on_every_use(runtime: Runtime, accounts: Accounts) -> None:
    clock = Clock()
    services, pair = await setup(runtime, accounts, clock)
    first = await exchange(services, pair)
    clock.advance(60)
    second = await services.exchange.rotate(first.refresh.token)
    assert second.refresh.token != first.refresh.token
    assert second.refresh.family_id == first.refresh.family_id
    identity = await services.verifier.verify(second.access.token)
    assert identity.as_json() == {
        "subject": "alice",
        "principal_id": identity.principal_id,
        "scheme": "bearer",
        "credential_id": pair["id"],
        "scopes": ["read", "write"],
        "roles": ["member"],
    }
    # auth_time stays the original authentication's
    assert identity.claims["auth_time"] == int(clock.now - 60)
    third = await services.exchange.rotate(second.refresh.token)
    assert third.refresh.family_id == first.refresh.family_id


async def test_replay_revokes_the_family_and_its_access_tokens(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    first = await exchange(services, pair)
    second = await services.exchange.rotate(first.refresh.token)
    assert (await services.verifier.verify(second.access.token)).subject == "alice"

    with pytest.raises(InvalidCredentials) as replay:
        await services.exchange.rotate(first.refresh.token)  # the attacker's (or victim's) copy
    # every token of the family is dead, including the legitimate successor
    with pytest.raises(InvalidCredentials) as successor:
        await services.exchange.rotate(second.refresh.token)
    for token in (first.access.token, second.access.token):
        with pytest.raises(InvalidCredentials):
            await services.verifier.verify(token)
    assert replay.value.description == successor.value.description
    # another family of the same key pair is unaffected
    other = await exchange(services, pair)
    assert (await services.verifier.verify(other.access.token)).subject == "alice"
    assert await services.exchange.rotate(other.refresh.token)


async def test_concurrent_redemption_lets_at_most_one_win(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    first = await exchange(services, pair)
    results = await asyncio.gather(
        *(services.exchange.rotate(first.refresh.token) for _ in range(4)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, TokenPair)]
    assert len(winners) <= 1
    assert all(isinstance(r, InvalidCredentials) for r in results if r not in winners)
    # a lost race is a replay: the whole family is revoked, winners included
    for w in winners:
        with pytest.raises(InvalidCredentials):
            await services.verifier.verify(w.access.token)


async def test_sliding_and_absolute_expiry(runtime: Runtime, accounts: Accounts) -> None:
    clock = Clock()
    services, pair = await setup(
        runtime,
        accounts,
        clock,
        refresh_token_lifetime=10 * DAY,
        refresh_token_absolute_lifetime=25 * DAY,
    )
    tokens = await exchange(services, pair)
    clock.advance(10 * DAY)
    with pytest.raises(InvalidCredentials):  # idle past the sliding lifetime
        await services.exchange.rotate(tokens.refresh.token)

    tokens = await exchange(services, pair)
    for _ in range(2):
        clock.advance(9 * DAY)
        tokens = await services.exchange.rotate(tokens.refresh.token)
    # the last token's sliding expiry is capped by the family's absolute expiry
    assert tokens.refresh.expires_at == pytest.approx(clock.now - 18 * DAY + 25 * DAY)
    clock.advance(7 * DAY)
    with pytest.raises(InvalidCredentials):
        await services.exchange.rotate(tokens.refresh.token)


async def test_wider_scope_is_refused_narrower_is_granted(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    tokens = await exchange(services, pair)
    with pytest.raises(InvalidScope):
        await services.exchange.rotate(tokens.refresh.token, scopes=["read", "admin"])
    # the refusal did not consume the token
    narrowed = await services.exchange.rotate(tokens.refresh.token, scopes=["read"])
    assert (await services.verifier.verify(narrowed.access.token)).scopes == ("read",)
    # and the narrowing sticks to the family
    with pytest.raises(InvalidScope):
        await services.exchange.rotate(narrowed.refresh.token, scopes=["write"])


async def test_other_client_is_refused(runtime: Runtime, accounts: Accounts) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    other = await accounts.key("alice", type="key-pair", scopes=["read"])
    tokens = await exchange(services, pair)
    with pytest.raises(InvalidCredentials):
        await services.exchange.rotate(tokens.refresh.token, client_id=other["id"])
    assert await services.exchange.rotate(tokens.refresh.token, client_id=pair["id"])


async def test_revoked_key_pair_or_disabled_user_ends_refresh(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    tokens = await exchange(services, pair)
    await runtime.keys.revoke(LOCAL_ADMIN, pair["id"])
    with pytest.raises(InvalidCredentials):
        await services.exchange.rotate(tokens.refresh.token)

    await accounts.user("bob")
    bob = await accounts.key("bob", type="key-pair")
    tokens = await exchange(services, bob)
    await runtime.users.disable(LOCAL_ADMIN, "bob")
    with pytest.raises(InvalidCredentials):
        await services.exchange.rotate(tokens.refresh.token)


async def test_garbage_unknown_and_revoked_tokens_fail_alike(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    tokens = await exchange(services, pair)
    assert await services.refresh.revoke(tokens.refresh.token)
    assert not await services.refresh.revoke("agr_garbage")
    descriptions = set()
    for token in ("", "agr_x", "agk_" + tokens.refresh.token[4:], tokens.refresh.token):
        with pytest.raises(InvalidCredentials) as caught:
            await services.exchange.rotate(token)
        descriptions.add(caught.value.description)
    assert len(descriptions) == 1
    # revoking a family also denies its access token
    with pytest.raises(InvalidCredentials):
        await services.verifier.verify(tokens.access.token)


async def test_revoking_a_key_pair_revokes_its_families_and_access_tokens(
    runtime: Runtime, accounts: Accounts
) -> None:
    services, pair = await setup(runtime, accounts, Clock())
    other = await accounts.key("alice", type="key-pair")
    a1, a2 = await exchange(services, pair), await exchange(services, pair)
    a2 = await services.exchange.rotate(a2.refresh.token)
    kept = await exchange(services, other)
    assert await services.refresh.revoke_credential(pair["id"]) == 3
    for t in (a1, a2):
        with pytest.raises(InvalidCredentials):
            await services.verifier.verify(t.access.token)
        with pytest.raises(InvalidCredentials):
            await services.exchange.rotate(t.refresh.token)
    assert (await services.verifier.verify(kept.access.token)).credential_id == other["id"]
