"""The revocation feed over the ``changes`` table, on SQLite and PostgreSQL.

Issue 8 items 8 and 9: a change committed by another process is applied by the feed;
a fresh process rebuilds its deny-lists from the tables; ids that commit out of order
(PostgreSQL sequences) are not skipped; rows past their use are purged; the polling loop
picks changes up within its interval and at once when woken.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import Accounts

from authgate.cache.change_feed import GAP_TIMEOUT, PAGE, ChangeFeed
from authgate.cache.revocations import revocation_handler
from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.models_changes import ChangeRecord, RevokedTokenRecord
from authgate.timefmt import utc_datetime
from authgate.tokens.changes import Change, purge
from authgate.tokens.durable_revocation import DurableRevocationList
from authgate.tokens.holders import HOLDER_RETENTION, HolderDenyList
from authgate.tokens.revocation import MemoryRevocationList


async def test_changes_of_another_process_are_applied(
    runtime: Runtime, other_process: Runtime, accounts: Accounts
) -> None:
    await accounts.user("ann")
    pair = await accounts.key("ann", type="key-pair")
    issued = await runtime.tokens.exchange.exchange(pair["key"], pair["secret"])
    jti = issued.access.jti
    holders, memory = HolderDenyList(), MemoryRevocationList()
    dropped: list[str] = []
    apply = revocation_handler(
        holders, memory, credential_changed=dropped.append, principal_changed=dropped.append
    )
    feed = ChangeFeed(runtime.db, apply)
    await feed.load()

    await other_process.keys.revoke(LOCAL_ADMIN, pair["id"])
    assert other_process.notices is not None
    await other_process.notices.flush()  # the cache notice that follows the revocation
    assert holders.denied_at(pair["id"]) is None  # not read yet
    assert await feed.poll() >= 2  # the key pair, and the token of its family
    assert holders.denied_at(pair["id"]) is not None and set(dropped) == {pair["id"]}
    assert await memory.is_revoked(jti)
    assert await feed.poll() == 0  # nothing twice

    # the runtime's own feed runs in the background (Runtime.open starts it)
    deadline = time.monotonic() + 1.0
    while not await runtime.tokens.revocation.is_revoked(jti):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert runtime.tokens.holders.denied_at(pair["id"]) is not None


async def test_a_new_process_rebuilds_the_deny_lists(
    settings: Settings, runtime: Runtime, accounts: Accounts
) -> None:
    await accounts.user("bea")
    await accounts.user("cid")
    pair = await accounts.key("bea", type="key-pair")
    issued = await runtime.tokens.exchange.exchange(pair["key"], pair["secret"])
    await runtime.tokens.revocation.revoke("a-jti", time.time() + 600)
    await runtime.users.disable(LOCAL_ADMIN, "cid")
    await runtime.keys.rotate(LOCAL_ADMIN, pair["id"], grace=timedelta(hours=1))

    fresh = await Runtime.open(settings, batched_audit=False)
    try:
        assert await fresh.tokens.revocation.is_revoked("a-jti")
        cid = await fresh.users.find("cid")
        assert cid is not None and fresh.tokens.holders.denied_at(cid.id) is not None
        ends = fresh.tokens.holders.denied_at(pair["id"])
        assert ends is not None and ends > time.time() + 3500  # at the end of the grace
        assert not await fresh.tokens.revocation.is_revoked(issued.access.jti)
        assert fresh.feed is not None and await fresh.feed.poll() == 0  # all loaded
    finally:
        await fresh.close()


async def _insert(runtime: Runtime, row_id: int, subject: str) -> None:
    async with runtime.db.session() as s, s.begin():
        s.add(ChangeRecord(id=row_id, kind="user", subject=subject, at=utc_datetime(time.time())))


async def test_an_id_committed_late_is_not_skipped(runtime: Runtime) -> None:
    seen: list[str] = []
    now = [1000.0]
    feed = ChangeFeed(runtime.db, lambda c: seen.append(c.subject), clock=lambda: now[0])
    await feed.load()
    base = feed.floor
    await _insert(runtime, base + 2, "second")  # committed first
    assert await feed.poll() == 1
    assert feed.floor == base  # base + 1 may still commit
    await _insert(runtime, base + 1, "first")
    assert await feed.poll() == 1
    assert seen == ["second", "first"] and feed.floor == base + 2

    await _insert(runtime, base + 5, "after-a-rollback")  # 3 and 4 never commit
    assert await feed.poll() == 1
    assert feed.floor == base + 2
    now[0] += GAP_TIMEOUT + 1
    assert await feed.poll() == 0
    assert feed.floor == base + 5  # the gap was given up on; nothing applied twice
    assert seen.count("after-a-rollback") == 1


async def test_a_gap_below_a_full_page_hides_nothing_after_it(runtime: Runtime) -> None:
    """An id still open below more than a page of committed rows: all are read at once."""
    seen: list[str] = []
    feed = ChangeFeed(runtime.db, lambda c: seen.append(c.subject))
    await feed.load()
    base = feed.floor
    at = utc_datetime(time.time())
    async with runtime.db.session() as s, s.begin():  # base + 1 has not committed yet
        s.add_all(
            ChangeRecord(id=base + 2 + i, kind="user", subject=f"u{i}", at=at)
            for i in range(PAGE + 5)
        )
    assert await feed.poll() == PAGE + 5
    assert feed.floor == base and seen[-1] == f"u{PAGE + 4}"
    assert await feed.poll() == 0  # nothing twice while the gap stays open


async def test_purge_keeps_what_is_still_in_force(runtime: Runtime) -> None:
    now = time.time()
    old = utc_datetime(now - HOLDER_RETENTION - 60)
    async with runtime.db.session() as s, s.begin():
        s.add(ChangeRecord(kind="user", subject="long-ago", at=old))
        s.add(ChangeRecord(kind="credential", subject="grace", at=utc_datetime(now + 3600)))
        s.add(ChangeRecord(kind="user", subject="recent", at=utc_datetime(now)))
        s.add(RevokedTokenRecord(jti="expired", expires_at=utc_datetime(now - 1)))
        s.add(RevokedTokenRecord(jti="live", expires_at=utc_datetime(now + 600)))
    assert await purge(runtime.db, now=now) == 2
    async with runtime.db.session() as s:
        subjects = set((await s.scalars(select(ChangeRecord.subject))).all())
        jtis = set((await s.scalars(select(RevokedTokenRecord.jti))).all())
    assert subjects == {"grace", "recent"} and jtis == {"live"}


async def test_the_loop_applies_within_its_interval_and_at_once_when_woken(
    runtime: Runtime, other_process: Runtime, accounts: Accounts
) -> None:
    applied: asyncio.Queue[Change] = asyncio.Queue()

    def revocations_only(change: Change) -> None:  # not the cache notices around them
        if change.kind != "cache":
            applied.put_nowait(change)

    slow = ChangeFeed(runtime.db, revocations_only, interval=0.1)
    await slow.load()
    task = asyncio.create_task(slow.run())
    try:
        await accounts.user("dan")
        await other_process.users.disable(LOCAL_ADMIN, "dan")
        started = time.monotonic()
        change = await asyncio.wait_for(applied.get(), 1.0)
        assert change.kind == "user" and time.monotonic() - started < 0.5

        slow.interval = 30.0
        await asyncio.sleep(0.15)  # the loop now waits 30 s unless woken
        await other_process.tokens.revocation.revoke("woken", time.time() + 60)
        slow.wake()
        change = await asyncio.wait_for(applied.get(), 1.0)
        assert change.subject == "woken"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_every_revoking_service_writes_its_change_in_the_same_transaction(
    runtime: Runtime, accounts: Accounts
) -> None:
    async def count() -> int:
        async with runtime.db.session() as s:
            revocations = select(func.count()).where(ChangeRecord.kind != "cache")
            return int(await s.scalar(revocations) or 0)

    await accounts.user("eve")
    key = await accounts.key("eve")
    client = await runtime.oauth.clients.create(LOCAL_ADMIN, "svc", grants=["client_credentials"])
    before = await count()
    await runtime.keys.revoke(LOCAL_ADMIN, key["id"])
    await runtime.oauth.clients.delete(LOCAL_ADMIN, client.view.client_id)
    await runtime.users.disable(LOCAL_ADMIN, "eve")
    assert await count() == before + 3


async def test_users_disabled_before_the_log_existed_are_denied_at_start_up(
    settings: Settings, runtime: Runtime, accounts: Accounts
) -> None:
    from sqlalchemy import update

    from authgate.store.models import User

    await accounts.user("old")
    async with runtime.db.session() as s, s.begin():  # as a pre-0009 disable left it
        await s.execute(update(User).where(User.name == "old").values(disabled=True))
    user = await runtime.users.find("old")
    assert user is not None and runtime.tokens.holders.denied_at(user.id) is None
    fresh = await Runtime.open(settings, batched_audit=False)
    try:
        assert fresh.tokens.holders.denies({"sub": user.id, "client_id": "x"})
    finally:
        await fresh.close()


async def test_two_processes_revoking_one_token_at_once(
    runtime: Runtime, other_process: Runtime, accounts: Accounts
) -> None:
    """The loser of the race on ``revoked_tokens`` (primary key ``jti``) is no error."""
    revocation = runtime.tokens.revocation
    assert isinstance(revocation, DurableRevocationList)
    expires_at = time.time() + 600
    # both processes read "not revoked yet"; the other one commits first
    read_before_insert = revocation.changes.stage_token

    async def stage_after_the_other(session: AsyncSession, jti: str, exp: float) -> Change:
        change = await read_before_insert(session, jti, exp)  # reads: no row yet
        await other_process.tokens.revocation.revoke(jti, exp)  # the other process wins
        return change

    revocation.changes.stage_token = stage_after_the_other  # type: ignore[method-assign]
    try:
        await revocation.revoke("raced-jti", expires_at)
    finally:
        del revocation.changes.stage_token
    assert await revocation.is_revoked("raced-jti")
    async with runtime.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(RevokedTokenRecord)) == 1


async def test_cache_notices_drop_cached_entries_and_deny_nothing(
    runtime: Runtime, other_process: Runtime, accounts: Accounts
) -> None:
    """``cache`` rows (a new password, a rotated secret) invalidate; they never deny."""
    from authgate.cache.notices import parse_notice

    await accounts.user("cara")
    holders, memory = HolderDenyList(), MemoryRevocationList()
    dropped: list[str] = []
    apply = revocation_handler(
        holders,
        memory,
        credential_changed=lambda i: dropped.append(f"credential {i}"),
        principal_changed=lambda i: dropped.append(f"principal {i}"),
        everything_changed=lambda: dropped.append("all"),
    )
    feed = ChangeFeed(runtime.db, apply)
    await feed.load()
    assert other_process.notices is not None
    other_process.notices.notify("principal", "user-1")
    other_process.notices.notify("credential", "key-1")
    other_process.notices.notify("all")
    await other_process.notices.flush()
    assert await feed.poll() == 3  # written concurrently: in any order
    assert sorted(dropped) == ["all", "credential key-1", "principal user-1"]
    assert holders.denied_at("user-1") is None and holders.denied_at("key-1") is None
    fresh = ChangeFeed(runtime.db, apply)
    dropped.clear()
    await fresh.load()  # a starting server ignores old notices
    assert dropped == []
    assert parse_notice("bogus") is None and parse_notice("credential:") is None
