"""The device authorization grant (RFC 8628) on SQLite and PostgreSQL: code formats and
entry (§6.1), the §3.2 response, digests only in the table, the user's decision (§3.3),
polling with authorization_pending / slow_down / access_denied / expired_token (§3.5),
single use, foreign and malformed codes, concurrent redemptions, migration 0007."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from tests._tokens_support import Clock

from authgate.crypto.keys import generate_key, is_well_formed
from authgate.errors import render
from authgate.home import load_secrets
from authgate.oauth.device import (
    DEVICE_CODE_PREFIX,
    USER_CODE_ALPHABET,
    DeviceAuthorization,
    DeviceGrant,
    DeviceService,
    PendingDevice,
    format_user_code,
    new_device_code,
    new_user_code,
    normalize_user_code,
)
from authgate.oauth.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidTokenScope,
    SlowDown,
    UnauthorizedClient,
)
from authgate.oauth.records import ClientRecord
from authgate.oauth.registration import DEVICE_CODE_GRANT
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.migrate import _config

VERIFY = "https://auth.example/device"


# -- codes (sans-I/O) -------------------------------------------------------------------


def test_user_codes_are_8_base20_consonants_shown_as_two_groups() -> None:
    assert USER_CODE_ALPHABET == "BCDFGHJKLMNPQRSTVWXZ" and len(set(USER_CODE_ALPHABET)) == 20
    codes = {new_user_code() for _ in range(200)}
    assert len(codes) == 200  # 20**8 values: no repeats in a small sample
    for code in codes:
        assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
        shown = format_user_code(code)
        assert shown == f"{code[:4]}-{code[4:]}"
        assert normalize_user_code(shown) == code


def test_normalization_forgives_case_dashes_and_spaces_and_refuses_the_rest() -> None:
    for typed in [
        "WDJB-MJHT",
        "wdjb-mjht",
        "WdJb MjHt",
        " wdjbmjht ",
        "w-d-j-b-m-j-h-t",
        "WDJB - MJHT",
        "wdjb\tmjht",
    ]:
        assert normalize_user_code(typed) == "WDJBMJHT", typed
    for typed in [
        "",
        "WDJB-MJH",  # too short
        "WDJB-MJHTB",  # too long
        "WDJB-MJHA",  # a vowel
        "WDJB-MJH1",  # a digit
        "WDJB_MJHT",  # another separator
        "WDJB.MJHT",
        "WDJB–MJHT",  # an en dash, as word processors paste it
        "WDJB-MJHß",  # ß.upper() == "SS": non-ASCII is refused before upper-casing
        "ＷDJB-MJHT",  # a fullwidth letter
        "WDJB\nMJHT",
        "WDJBMJHT" + " " * 40,  # far too long an input
    ]:
        assert normalize_user_code(typed) is None, typed


def test_device_codes_are_high_entropy_authgate_secrets() -> None:
    codes = {new_device_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert code.startswith(DEVICE_CODE_PREFIX) and is_well_formed(code, DEVICE_CODE_PREFIX)


def test_rfc8628_errors_render_as_400_with_their_codes() -> None:
    for cls, code in [
        (AuthorizationPending, "authorization_pending"),
        (SlowDown, "slow_down"),
        (AccessDenied, "access_denied"),
        (ExpiredToken, "expired_token"),
    ]:
        status, headers, body = render(cls(reason="internal detail"))
        assert status == 400 and ("cache-control", "no-store") in headers
        assert body.decode().startswith(f'{{"error":"{code}"')
        assert "internal detail" not in body.decode()


# -- the service on the real store -----------------------------------------------------


@dataclass
class World:
    rt: Runtime
    clock: Clock
    device: DeviceService
    client: ClientRecord
    user_id: str

    async def start(self, scopes: tuple[str, ...] = ("read",)) -> DeviceAuthorization:
        return await self.device.start(self.client, scopes)

    async def dump(self) -> str:
        async with self.rt.db.engine.connect() as conn:
            return str((await conn.execute(text("SELECT * FROM device_codes"))).all())

    async def interval(self) -> int:
        async with self.rt.db.engine.connect() as conn:
            value = await conn.scalar(text("SELECT interval FROM device_codes"))
        return int(value)


async def register(rt: Runtime, **kwargs: Any) -> ClientRecord:
    kwargs.setdefault("grants", [DEVICE_CODE_GRANT, "refresh_token"])
    kwargs.setdefault("scopes", ["read", "write"])
    kwargs.setdefault("public", True)
    issued = await rt.oauth.clients.create(LOCAL_ADMIN, kwargs.pop("name", "cli"), **kwargs)
    record = await rt.oauth.clients.lookup(issued.view.client_id)
    assert record is not None
    return record


def make_device(rt: Runtime, clock: Clock, **kwargs: Any) -> DeviceService:
    digester = load_secrets(rt.settings.home).digester
    return DeviceService(rt.db, digester, verification_uri=VERIFY, clock=clock, **kwargs)


@pytest.fixture
async def world(runtime: Runtime) -> World:
    clock = Clock()
    client = await register(runtime)
    user = await runtime.users.create(LOCAL_ADMIN, "alice", scopes=["read", "write"])
    return World(runtime, clock, make_device(runtime, clock), client, user.id)


async def test_start_answers_rfc8628_3_2_and_stores_digests_only(world: World) -> None:
    started = await world.start(("read", "write"))
    body = started.as_json()
    assert list(body) == [
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    ]
    assert is_well_formed(body["device_code"], DEVICE_CODE_PREFIX)
    user_code = body["user_code"]
    assert len(user_code) == 9 and user_code[4] == "-"
    assert normalize_user_code(user_code) == user_code.replace("-", "")
    assert body["verification_uri"] == VERIFY
    assert body["verification_uri_complete"] == f"{VERIFY}?user_code={user_code}"
    assert body["expires_in"] == 600 and body["interval"] == 5
    assert "***" in repr(started)
    assert started.device_code not in repr(started) and user_code not in repr(started)

    dump = await world.dump()
    for clear in (started.device_code, started.device_code[4:], user_code, user_code[:4]):
        assert clear not in dump
    assert user_code.replace("-", "") not in dump
    async with world.rt.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT device_code_digest, user_code_digest, client_id, status, "
                    "interval, user_id FROM device_codes"
                )
            )
        ).one()
    assert row[0] == world.device.device_code_digest(started.device_code) and len(row[0]) == 64
    assert row[1] == world.device.user_code_digest(user_code.replace("-", ""))
    assert row[0] != row[1]
    assert tuple(row[2:]) == (world.client.client_id, "pending", 5, None)


async def test_verification_uri_with_a_query_keeps_it(runtime: Runtime) -> None:
    client = await register(runtime)
    device = DeviceService(
        runtime.db,
        load_secrets(runtime.settings.home).digester,
        verification_uri=VERIFY + "?lang=en",
        lifetime=300,
        interval=10,
    )
    started = await device.start(client, ("read",))
    assert started.verification_uri_complete == f"{VERIFY}?lang=en&user_code={started.user_code}"
    assert (started.expires_in, started.interval) == (300, 10)


async def test_start_refuses_clients_without_the_grant_and_foreign_scopes(
    runtime: Runtime,
) -> None:
    device = make_device(runtime, Clock())
    other = await register(runtime, grants=["refresh_token"])
    with pytest.raises(UnauthorizedClient):
        await device.start(other, ("read",))
    client = await register(runtime)
    with pytest.raises(InvalidTokenScope):
        await device.start(client, ("read", "admin"))
    assert (await device.start(client, ())).expires_in == 600


async def test_happy_path(world: World) -> None:
    started = await world.start(("read", "write"))
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(started.device_code, world.client.client_id)

    # the user types the code in lower case with a space instead of the dash
    typed = started.user_code.lower().replace("-", " ")
    pending = await world.device.find_pending(typed)
    assert pending == PendingDevice(
        world.client.client_id, ("read", "write"), world.clock.now + 600
    )
    logged_in_at = world.clock.now - 30
    assert await world.device.approve(typed, user_id=world.user_id, auth_time=logged_in_at)
    assert await world.device.find_pending(started.user_code) is None  # decided
    assert not await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=logged_in_at
    )
    assert not await world.device.deny(started.user_code)

    world.clock.advance(5)
    grant = await world.device.redeem(started.device_code, world.client.client_id)
    assert grant == DeviceGrant(
        world.user_id, world.client.client_id, ("read", "write"), logged_in_at
    )
    # single use: the second redemption is invalid_grant, even after the interval
    world.clock.advance(5)
    with pytest.raises(InvalidGrant):
        await world.device.redeem(started.device_code, world.client.client_id)
    async with world.rt.db.engine.connect() as conn:
        status = await conn.scalar(text("SELECT status FROM device_codes"))
    assert status == "used"


async def test_an_approved_code_is_redeemed_even_when_polled_early(world: World) -> None:
    started = await world.start()
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(started.device_code, world.client.client_id)
    assert await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    world.clock.advance(1)  # slow_down is for pending requests only (§3.5)
    grant = await world.device.redeem(started.device_code, world.client.client_id)
    assert grant.user_id == world.user_id


async def test_slow_down_raises_the_interval_by_5_seconds_for_good(world: World) -> None:
    started = await world.start()
    code, client_id = started.device_code, world.client.client_id
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(code, client_id)
    world.clock.advance(5)
    with pytest.raises(AuthorizationPending):  # exactly the interval: in time
        await world.device.redeem(code, client_id)
    assert await world.interval() == 5

    world.clock.advance(2)
    with pytest.raises(SlowDown):
        await world.device.redeem(code, client_id)
    assert await world.interval() == 10
    world.clock.advance(6)  # the old interval is no longer enough
    with pytest.raises(SlowDown):
        await world.device.redeem(code, client_id)
    assert await world.interval() == 15
    world.clock.advance(15)
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(code, client_id)
    world.clock.advance(15)
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(code, client_id)
    assert await world.interval() == 15  # in-time polls leave it alone

    # the code is still usable once approved
    assert await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    world.clock.advance(15)
    assert (await world.device.redeem(code, client_id)).client_id == client_id


async def test_the_interval_stops_growing_at_an_hour(runtime: Runtime) -> None:
    clock = Clock()
    device = make_device(runtime, clock, interval=3600)
    client = await register(runtime)
    client_id = client.client_id
    started = await device.start(client, ("read",))
    with pytest.raises(AuthorizationPending):
        await device.redeem(started.device_code, client_id)
    clock.advance(1)
    with pytest.raises(SlowDown):
        await device.redeem(started.device_code, client_id)
    async with runtime.db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT interval FROM device_codes")) == 3600


async def test_denied(world: World) -> None:
    started = await world.start()
    assert await world.device.deny(started.user_code.lower())
    assert await world.device.find_pending(started.user_code) is None
    assert not await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    for _ in range(2):
        with pytest.raises(AccessDenied):
            await world.device.redeem(started.device_code, world.client.client_id)
    async with world.rt.db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, user_id FROM device_codes"))).one()
    assert tuple(row) == ("denied", None)
    world.clock.advance(600)
    with pytest.raises(ExpiredToken):
        await world.device.redeem(started.device_code, world.client.client_id)


async def test_expired(world: World) -> None:
    started = await world.start()
    approved = await world.start()
    assert await world.device.approve(
        approved.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    world.clock.advance(599)
    assert await world.device.find_pending(started.user_code) is not None
    world.clock.advance(1)
    assert await world.device.find_pending(started.user_code) is None
    assert not await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    assert not await world.device.deny(started.user_code)
    for code in (started.device_code, approved.device_code):
        with pytest.raises(ExpiredToken):
            await world.device.redeem(code, world.client.client_id)

    # purged a day later: then simply unknown
    world.clock.advance(86400 + 1)
    assert await world.device.purge_expired() == 2
    with pytest.raises(InvalidGrant):
        await world.device.redeem(started.device_code, world.client.client_id)


async def test_purge_keeps_live_and_recently_expired_rows(world: World) -> None:
    await world.start()
    assert await world.device.purge_expired() == 0
    world.clock.advance(700)
    assert await world.device.purge_expired() == 0  # within the grace: expired_token
    assert await world.device.purge_expired(grace=0) == 1


async def test_a_code_issued_to_another_client_is_invalid_grant(world: World) -> None:
    started = await world.start()
    other = await register(world.rt, name="other")
    for client_id in (other.client_id, "agc_unknown", ""):
        with pytest.raises(InvalidGrant):
            await world.device.redeem(started.device_code, client_id)
    # the foreign polls changed nothing: the rightful client polls in time, and redeems
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(started.device_code, world.client.client_id)
    assert await world.interval() == 5
    assert await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    with pytest.raises(InvalidGrant):
        await world.device.redeem(started.device_code, other.client_id)
    world.clock.advance(5)
    await world.device.redeem(started.device_code, world.client.client_id)


async def test_unknown_and_malformed_device_codes_are_invalid_grant(world: World) -> None:
    started = await world.start()
    for code in [
        "",
        "agd_",
        "agd_garbage",
        started.device_code[:-1] + ("A" if started.device_code[-1] != "A" else "B"),  # checksum
        started.device_code.lower(),
        generate_key(DEVICE_CODE_PREFIX),  # well formed, never issued
        generate_key("agr_"),  # another kind of authgate secret
        started.user_code,
        "x" * 100_000,
    ]:
        with pytest.raises(InvalidGrant):
            await world.device.redeem(code, world.client.client_id)
    # nothing of that counted as a poll of the real code
    async with world.rt.db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT last_polled_at FROM device_codes")) is None


async def test_unknown_and_malformed_user_codes_find_nothing(world: World) -> None:
    started = await world.start()
    for typed in ["", "BCDF-GHJK" if started.user_code != "BCDF-GHJK" else "BCDF-GHJL", "AEIOU"]:
        assert await world.device.find_pending(typed) is None
        assert not await world.device.approve(typed, user_id=world.user_id, auth_time=0.0)
        assert not await world.device.deny(typed)
    assert await world.device.find_pending(started.user_code) is not None


async def test_concurrent_redemptions_exactly_one_wins(world: World) -> None:
    started = await world.start()
    assert await world.device.approve(
        started.user_code, user_id=world.user_id, auth_time=world.clock.now
    )
    world.clock.advance(5)
    results = await asyncio.gather(
        *(world.device.redeem(started.device_code, world.client.client_id) for _ in range(4)),
        return_exceptions=True,
    )
    grants = [r for r in results if isinstance(r, DeviceGrant)]
    refused = [r for r in results if isinstance(r, InvalidGrant)]
    assert len(grants) == 1 and len(refused) == 3, results


async def test_concurrent_decisions_exactly_one_wins(world: World) -> None:
    started = await world.start()
    results = await asyncio.gather(
        world.device.approve(started.user_code, user_id=world.user_id, auth_time=world.clock.now),
        world.device.deny(started.user_code),
        world.device.approve(started.user_code, user_id=world.user_id, auth_time=world.clock.now),
    )
    assert results.count(True) == 1, results


async def test_concurrent_polls_one_pending_the_others_slow_down(world: World) -> None:
    started = await world.start()
    results = await asyncio.gather(
        *(world.device.redeem(started.device_code, world.client.client_id) for _ in range(3)),
        return_exceptions=True,
    )
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["AuthorizationPending", "SlowDown", "SlowDown"], results
    assert await world.interval() == 15  # each slow_down answer adds its 5 seconds


async def test_concurrent_approve_and_redeem(world: World) -> None:
    started = await world.start()
    with pytest.raises(AuthorizationPending):
        await world.device.redeem(started.device_code, world.client.client_id)
    world.clock.advance(5)
    approved, polled = await asyncio.gather(
        world.device.approve(started.user_code, user_id=world.user_id, auth_time=world.clock.now),
        world.device.redeem(started.device_code, world.client.client_id),
        return_exceptions=True,
    )
    assert approved is True
    # either the poll saw it pending, or it saw the approval and redeemed the code
    assert isinstance(polled, AuthorizationPending | DeviceGrant), polled
    if isinstance(polled, AuthorizationPending):
        world.clock.advance(5)
        await world.device.redeem(started.device_code, world.client.client_id)
    with pytest.raises(InvalidGrant):
        await world.device.redeem(started.device_code, world.client.client_id)


async def test_migration_0007_creates_device_codes(runtime: Runtime) -> None:
    async with runtime.db.engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("device_codes")}
        )
        indexes = await conn.run_sync(
            lambda c: {
                tuple(ix["column_names"]): bool(ix["unique"])
                for ix in inspect(c).get_indexes("device_codes")
            }
        )
    script = ScriptDirectory.from_config(_config())
    assert script.get_revision("0007").down_revision == "0006"
    assert version == script.get_current_head()
    assert {"device_code_digest", "user_code_digest", "status", "interval"} <= columns
    assert "device_code" not in columns and "user_code" not in columns
    assert indexes[("device_code_digest",)] and indexes[("user_code_digest",)]
