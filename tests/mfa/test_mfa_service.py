"""MfaService on SQLite and PostgreSQL (``runtime``): enrolment, the TOTP lines of
SECURITY.md, recovery codes, sealing, concurrency, ownership, audit, migration 0003."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text
from tests.conftest import Accounts

from authgate.errors import AuthError, Conflict, InvalidCredentials, NotFound
from authgate.home import load_secrets
from authgate.identity import Identity
from authgate.mfa import totp
from authgate.mfa.service import MfaService
from authgate.mfa.throttle import LoginThrottle, ThrottlePolicy
from authgate.mfa.throttle_store import MemoryThrottleStore
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.scopes import user_scopes
from authgate.store.migrate import _config
from authgate.store.models import AuditEvent

T0 = 1_800_000_000.0  # a step boundary: 1_800_000_000 / 30 is whole
USER_IP = "192.0.2.10"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_mfa(rt: Runtime, clock: Clock, policy: ThrottlePolicy | None = None) -> MfaService:
    secrets = load_secrets(rt.settings.home)
    throttle = LoginThrottle(MemoryThrottleStore(clock), clock, policy or ThrottlePolicy())
    return MfaService(rt.db, secrets.master_keys, secrets.digester, rt.audit, throttle, clock)


def as_identity(view: Any, role: str = "member") -> Identity:
    # admin power needs authgate:admin on the credential (issue 8 item 2)
    scopes = user_scopes(role, view.scopes)
    return Identity(
        subject=view.name, principal_id=view.id, scheme="apikey", scopes=scopes, roles=(role,)
    )


class Enrolled:
    def __init__(self, mfa: MfaService, clock: Clock, user: Identity, secret: bytes) -> None:
        self.mfa, self.clock, self.user, self.secret = mfa, clock, user, secret
        self.recovery: list[str] = []

    def code(self, offset_steps: int = 0) -> str:
        return totp.hotp(self.secret, totp.time_step(self.clock.now) + offset_steps)


@pytest.fixture
async def alice(runtime: Runtime, accounts: Accounts) -> Enrolled:
    clock = Clock()
    mfa = make_mfa(runtime, clock)
    user = as_identity(await accounts.user("alice"))
    started = await mfa.begin_enrolment(user, client_ip=USER_IP)
    enrolled = Enrolled(mfa, clock, user, totp.b32_decode(started.secret.reveal()))
    enrolled.recovery = await mfa.confirm_enrolment(user, None, enrolled.code(), client_ip=USER_IP)
    clock.now += 30  # the confirmation spent the current step
    return enrolled


async def events(rt: Runtime) -> list[AuditEvent]:
    async with rt.db.session() as s:
        return list((await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


async def test_migration_0003_creates_mfa_tables(runtime: Runtime) -> None:
    def look(conn: Any) -> dict[str, Any]:
        insp = inspect(conn)
        return {
            t: (
                sorted(c["name"] for c in insp.get_columns(t)),
                sorted(i["column_names"][0] for i in insp.get_indexes(t) if i.get("unique")),
                [fk["referred_table"] for fk in insp.get_foreign_keys(t)],
            )
            for t in ("totp_factors", "recovery_codes")
        }

    async with runtime.db.engine.connect() as conn:
        found = await conn.run_sync(look)
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    script = ScriptDirectory.from_config(_config())
    assert version == script.get_current_head()
    assert script.get_revision("0003").down_revision == "0002"
    assert found["totp_factors"] == (
        sorted(
            [
                "id",
                "user_id",
                "secret_sealed",
                "algorithm",
                "digits",
                "period",
                "confirmed_at",
                "last_used_step",
                "created_at",
            ]
        ),
        ["user_id"],
        ["users"],
    )
    assert found["recovery_codes"] == (
        ["code_digest", "id", "used_at", "user_id"],
        ["code_digest"],
        ["users"],
    )


async def test_enrolment_flow(runtime: Runtime, accounts: Accounts) -> None:
    clock = Clock()
    mfa = make_mfa(runtime, clock)
    user = as_identity(await accounts.user("bob"))
    started = await mfa.begin_enrolment(user)
    assert "secret=***" in repr(started) and started.secret.reveal() not in repr(started)
    assert started.otpauth_uri.reveal().startswith("otpauth://totp/authgate:bob?secret=")
    assert not await mfa.is_enrolled(user.principal_id)
    secret = totp.b32_decode(started.secret.reveal())
    # an unconfirmed factor does not verify codes
    assert not await mfa.verify(user.principal_id, totp.totp(secret, clock.now))
    with pytest.raises(InvalidCredentials):
        await mfa.confirm_enrolment(
            user, None, "000000" if totp.totp(secret, clock.now) != "000000" else "111111"
        )
    codes = await mfa.confirm_enrolment(user, None, totp.totp(secret, clock.now))
    assert len(codes) == 10 and await mfa.is_enrolled(user.principal_id)
    with pytest.raises(Conflict):
        await mfa.begin_enrolment(user)
    with pytest.raises(NotFound):  # nothing pending any more
        await mfa.confirm_enrolment(user, None, totp.totp(secret, clock.now + 30))
    clock.now += 30
    assert await mfa.verify(user.principal_id, totp.totp(secret, clock.now))


async def test_restarting_enrolment_replaces_the_pending_secret(
    runtime: Runtime, accounts: Accounts
) -> None:
    clock = Clock()
    mfa = make_mfa(runtime, clock)
    user = as_identity(await accounts.user("carol"))
    first = totp.b32_decode((await mfa.begin_enrolment(user)).secret.reveal())
    second = totp.b32_decode((await mfa.begin_enrolment(user)).secret.reveal())
    assert first != second
    with pytest.raises(InvalidCredentials):
        await mfa.confirm_enrolment(user, None, totp.totp(first, clock.now))
    clock.now += 30
    assert await mfa.confirm_enrolment(user, None, totp.totp(second, clock.now))


# -- SECURITY.md, TOTP -----------------------------------------------------------------


async def test_same_code_twice_in_its_step_rejected(alice: Enrolled) -> None:
    uid = alice.user.principal_id
    code = alice.code()
    assert await alice.mfa.verify(uid, code, client_ip=USER_IP)
    alice.clock.now += 20  # still the same step
    assert not await alice.mfa.verify(uid, code, client_ip=USER_IP)


async def test_code_from_step_t_minus_2_rejected(alice: Enrolled) -> None:
    alice.clock.now += 30  # T-1 must be a step not yet used by the enrolment
    assert not await alice.mfa.verify(alice.user.principal_id, alice.code(-2))
    assert await alice.mfa.verify(alice.user.principal_id, alice.code(-1))


async def test_client_supplied_time_ignored(alice: Enrolled) -> None:
    # The only time input is the server clock: there is no parameter through which a
    # client could move it. A code for a time the client "claims" is just a wrong code.
    import inspect as pyinspect

    params = pyinspect.signature(alice.mfa.verify).parameters
    assert set(params) == {"user_id", "code", "client_ip"}
    future = totp.hotp(alice.secret, totp.time_step(alice.clock.now + 3600))
    assert not await alice.mfa.verify(alice.user.principal_id, future)
    assert not await alice.mfa.verify(alice.user.principal_id, alice.code(-5))
    assert await alice.mfa.verify(alice.user.principal_id, alice.code())


async def test_failed_attempts_throttled_per_account_across_ips_without_user_lockout(
    alice: Enrolled,
) -> None:
    uid = alice.user.principal_id
    assert await alice.mfa.verify(uid, alice.code(), client_ip=USER_IP)  # known network

    async def attack(rounds: int) -> int:
        """Wrong codes from ever new IPs, each as soon as the delay allows; how many checked."""
        throttle = alice.mfa._throttle
        before = await throttle._store.load_account(uid)
        start = before.failures if before else 0
        for i in range(rounds):
            right = {alice.code(d) for d in (-1, 0, 1)}
            wrong = "000000" if "000000" not in right else "111111"
            assert not await alice.mfa.verify(uid, wrong, client_ip=f"203.0.113.{i % 250}")
            alice.clock.now += 31
        after = await throttle._store.load_account(uid)
        assert after is not None
        return after.failures - start

    assert await attack(100) == 90  # per account, across 250 IPs: capped (≤ 100)
    # a fresh stranger holding the right code is refused now: guesses are not even checked
    assert not await alice.mfa.verify(uid, alice.code(), client_ip="198.51.100.200")
    # the legitimate user, from the network they used before, still gets in during the attack
    assert await alice.mfa.verify(uid, alice.code(), client_ip=USER_IP)
    alice.clock.now += 30
    # and from a new network once the throttle window is over
    assert await attack(100) == 90
    assert not await alice.mfa.verify(uid, alice.code(), client_ip="198.51.100.201")
    alice.clock.now += 3600
    assert await alice.mfa.verify(uid, alice.code(), client_ip="198.51.100.201")


async def test_attempts_beyond_the_cap_are_not_checked_at_all(
    runtime: Runtime, accounts: Accounts
) -> None:
    clock = Clock()
    mfa = make_mfa(runtime, clock, ThrottlePolicy(max_failures=5, known_reserve=0))
    user = as_identity(await accounts.user("dave"))
    secret = totp.b32_decode((await mfa.begin_enrolment(user)).secret.reveal())
    await mfa.confirm_enrolment(user, None, totp.totp(secret, clock.now))
    clock.now += 30
    for _ in range(5):
        assert not await mfa.verify(user.principal_id, "000000", client_ip="203.0.113.1")
        clock.now += 60
    # the right code is refused while throttled (a guess that happens to be right too)
    assert not await mfa.verify(user.principal_id, totp.totp(secret, clock.now), client_ip="x")
    clock.now += 3600
    assert await mfa.verify(user.principal_id, totp.totp(secret, clock.now), client_ip="x")


# -- recovery codes, sealing, concurrency ------------------------------------------------


async def test_recovery_codes_single_use_and_normalised(alice: Enrolled) -> None:
    uid = alice.user.principal_id
    code = alice.recovery[0]
    assert await alice.mfa.verify_recovery(uid, f"  {code.upper()} ")
    assert not await alice.mfa.verify_recovery(uid, code)
    assert not await alice.mfa.verify_recovery(uid, code.replace("-", ""))
    assert await alice.mfa.recovery_codes_left(uid) == 9
    assert await alice.mfa.verify_recovery(uid, alice.recovery[1].replace("-", " "))
    assert not await alice.mfa.verify_recovery(uid, "aaaaa-aaaaa")


async def test_recovery_code_of_another_user_does_not_work(
    alice: Enrolled, runtime: Runtime, accounts: Accounts
) -> None:
    bob = as_identity(await accounts.user("bob"))
    assert not await alice.mfa.verify_recovery(bob.principal_id, alice.recovery[0])
    assert await alice.mfa.verify_recovery(alice.user.principal_id, alice.recovery[0])


async def test_secret_sealed_and_codes_digested_never_in_clear(
    alice: Enrolled, runtime: Runtime
) -> None:
    b32 = totp.b32_encode(alice.secret)
    async with runtime.db.engine.connect() as conn:
        dump = repr(
            [
                *(await conn.execute(text("SELECT * FROM totp_factors"))).all(),
                *(await conn.execute(text("SELECT * FROM recovery_codes"))).all(),
                *(await conn.execute(text("SELECT * FROM audit_events"))).all(),
            ]
        )
    for needle in (b32, b32.lower(), alice.secret.hex(), *alice.recovery):
        assert needle not in dump
    assert all(c.replace("-", "") not in dump for c in alice.recovery)
    assert "v1." in dump  # the sealed form is what is stored


async def test_sealed_secret_is_bound_to_its_factor(alice: Enrolled, runtime: Runtime) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE totp_factors SET id = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"))
    # the ciphertext no longer opens under the new record id: nothing verifies, no error
    assert not await alice.mfa.verify(alice.user.principal_id, alice.code())


async def test_two_concurrent_uses_of_one_code_only_one_succeeds(alice: Enrolled) -> None:
    uid = alice.user.principal_id
    code = alice.code()
    results = await asyncio.gather(
        *(alice.mfa.verify(uid, code, client_ip=USER_IP) for _ in range(8))
    )
    assert sorted(results) == [False] * 7 + [True]


async def test_two_instances_sharing_the_database_accept_a_code_once(
    alice: Enrolled, runtime: Runtime
) -> None:
    other = make_mfa(runtime, alice.clock)  # a second instance: its own throttle memory
    uid = alice.user.principal_id
    code = alice.code()
    results = await asyncio.gather(alice.mfa.verify(uid, code), other.verify(uid, code))
    assert sorted(results) == [False, True]


async def test_concurrent_recovery_code_use_only_one_succeeds(alice: Enrolled) -> None:
    uid = alice.user.principal_id
    results = await asyncio.gather(
        *(alice.mfa.verify_recovery(uid, alice.recovery[3]) for _ in range(6))
    )
    assert sorted(results) == [False] * 5 + [True]


# -- ownership, disable, audit -----------------------------------------------------------


async def test_ownership_member_self_admin_anyone_others_not_found(
    alice: Enrolled, runtime: Runtime, accounts: Accounts
) -> None:
    bob = as_identity(await accounts.user("bob"))
    root = as_identity(await accounts.user("root", role="admin"), role="admin")
    for call in (
        alice.mfa.begin_enrolment(bob, "alice"),
        alice.mfa.confirm_enrolment(bob, "alice", alice.code()),
        alice.mfa.disable(bob, "alice"),
        alice.mfa.begin_enrolment(bob, "nobody"),
    ):
        with pytest.raises(NotFound):
            await call
    assert await alice.mfa.is_enrolled(alice.user.principal_id)
    with pytest.raises(NotFound):
        await alice.mfa.begin_enrolment(LOCAL_ADMIN)  # the CLI operator is not a user
    await alice.mfa.disable(root, "alice")
    assert not await alice.mfa.is_enrolled(alice.user.principal_id)
    assert not await alice.mfa.verify(alice.user.principal_id, alice.code())
    assert not await alice.mfa.verify_recovery(alice.user.principal_id, alice.recovery[0])
    with pytest.raises(NotFound):
        await alice.mfa.disable(alice.user)
    assert (await alice.mfa.begin_enrolment(root, "bob")).factor_id


async def test_audit_events_without_secrets(alice: Enrolled, runtime: Runtime) -> None:
    uid = alice.user.principal_id
    assert await alice.mfa.verify(uid, alice.code(), client_ip=USER_IP)
    assert not await alice.mfa.verify(uid, alice.code(), client_ip="203.0.113.9")
    assert await alice.mfa.verify_recovery(uid, alice.recovery[0], client_ip=USER_IP)
    # turning one's own factor off takes a second factor too (here a recovery code)
    await alice.mfa.disable(alice.user, code=alice.recovery[1], client_ip=USER_IP)
    got = [(e.event, e.outcome, e.target_user_id, e.client_ip) for e in await events(runtime)]
    mfa_events = [g for g in got if g[0].startswith("mfa.")]
    assert mfa_events == [
        ("mfa.enrolment_started", "success", uid, USER_IP),
        ("mfa.enrolled", "success", uid, USER_IP),
        ("mfa.verified", "success", uid, USER_IP),
        ("mfa.failed", "failure", uid, "203.0.113.9"),
        ("mfa.recovery_used", "success", uid, USER_IP),
        ("mfa.recovery_used", "success", uid, USER_IP),
        ("mfa.disabled", "success", uid, USER_IP),
    ]
    dump = repr([(e.detail, e.credential_id, e.actor) for e in await events(runtime)])
    assert totp.b32_encode(alice.secret) not in dump
    assert all(c not in dump and c.replace("-", "") not in dump for c in alice.recovery)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(code=st.one_of(st.text(max_size=16), st.from_regex(r"\A[0-9]{6}\Z"), st.none()))
async def test_fuzzed_codes_only_false_or_auth_error(alice: Enrolled, code: Any) -> None:
    right = {alice.code(d) for d in (-1, 0, 1)}
    try:
        result = await alice.mfa.verify(alice.user.principal_id, code, client_ip="203.0.113.3")
    except AuthError:
        return
    assert result is False or code in right
    try:
        recovered = await alice.mfa.verify_recovery(alice.user.principal_id, code)
    except AuthError:
        return
    assert recovered is False
    alice.clock.now += 60  # keep the throttle's delays out of the way
