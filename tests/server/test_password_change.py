"""``PUT /v1/users/{name}/password`` checks the current password as a login (issue 8, item 7).

Before: a wrong ``current_password`` was an unthrottled password oracle (15 wrong guesses,
then the right one: 204) and its argon2 ran outside the hashing bound. Now it goes through
the login check the login page uses: the login throttle shared with Basic (per account
and IP), the resolver's bounded, off-loop argon2, and the second factor when enrolled.

Throttle thresholds (``ThrottlePolicy`` defaults): 3 free failures per lane, then the
next attempt waits 1, 2, 4, … up to 30 s; a refused attempt is not checked at all. The
tests freeze the login throttle's clock (the runtime's own throttle object, shared with
Basic, re-initialised on a memory store with a fake clock), so no test depends on speed.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx2
import pytest
from tests._mfa_support import basic
from tests.conftest import Accounts

from authgate.mfa.throttle import LoginThrottle
from authgate.mfa.throttle_store import MemoryThrottleStore
from authgate.runtime import Runtime

PASSWORD = "alice first password"
URL = "/v1/users/alice/password"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    """Freeze the runtime's login throttle (the very object Basic and the login use)."""
    fake = Clock()
    throttle = runtime.password_login.throttle
    LoginThrottle.__init__(throttle, MemoryThrottleStore(fake), fake)
    return fake


@pytest.fixture
async def alice(accounts: Accounts) -> dict[str, str]:
    await accounts.user("alice", password=PASSWORD, scopes=["read"])
    return {"X-API-Key": (await accounts.key("alice"))["key"]}


def change(current: str, new: str = "alices new password") -> dict[str, str]:
    return {"password": new, "current_password": current}


async def test_password_change_oracle_is_throttled(
    client: httpx2.AsyncClient, clock: Clock, alice: dict[str, str]
) -> None:
    """15 wrong guesses, then the right one: refused (was 204), until the throttle allows."""
    answers = set()
    for i in range(15):
        r = await client.put(URL, json=change(f"wrong guess {i}"), headers=alice)
        answers.add((r.status_code, r.content))
    r = await client.put(URL, json=change(PASSWORD), headers=alice)
    assert r.status_code != 204
    answers.add((r.status_code, r.content))
    assert len(answers) == 1 and next(iter(answers))[0] == 401  # one answer, right or wrong
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 401
    clock.now += 31  # past the longest per-lane delay
    assert (await client.put(URL, json=change(PASSWORD), headers=alice)).status_code == 204


async def test_password_change_shares_the_login_throttle_with_basic(
    client: httpx2.AsyncClient, clock: Clock, accounts: Accounts, alice: dict[str, str]
) -> None:
    # wrong current passwords count for Basic logins of the account …
    for i in range(4):
        r = await client.put(URL, json=change(f"wrong guess {i}"), headers=alice)
        assert r.status_code == 401
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 401
    clock.now += 31
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 200
    # … and wrong Basic passwords count for the password change
    for i in range(4):
        r = await client.get("/v1/whoami", headers=basic("alice", f"wrong guess {i}"))
        assert r.status_code == 401
    assert (await client.put(URL, json=change(PASSWORD), headers=alice)).status_code == 401
    clock.now += 31
    assert (await client.put(URL, json=change(PASSWORD), headers=alice)).status_code == 204


async def test_password_change_argon2_runs_in_the_shared_bounded_hasher(
    client: httpx2.AsyncClient, runtime: Runtime, accounts: Accounts
) -> None:
    """Concurrent password changes hash at most ``max_concurrent_hashes`` (2) at a time,
    in worker threads, through the same hasher as Basic; each check is counted."""
    users = [f"user{i}" for i in range(6)]
    headers = {}
    for name in users:
        await accounts.user(name, password=f"{name} old password")
        headers[name] = {"X-API-Key": (await accounts.key(name))["key"]}
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "calls": 0}
    loop_thread = threading.get_ident()
    threads: list[int] = []
    real = runtime.hasher.verify

    def spy(stored: str | None, password: str) -> bool:
        with lock:
            state["now"] += 1
            state["calls"] += 1
            state["max"] = max(state["max"], state["now"])
            threads.append(threading.get_ident())
        try:
            time.sleep(0.05)  # keep the hash in flight so an unbounded caller would overlap
            return real(stored, password)
        finally:
            with lock:
                state["now"] -= 1

    runtime.hasher.verify = spy  # type: ignore[method-assign]
    try:
        answers = await asyncio.gather(
            *(
                client.put(
                    f"/v1/users/{name}/password",
                    json=change("not the password", f"{name} new password"),
                    headers=headers[name],
                )
                for name in users
            )
        )
    finally:
        del runtime.hasher.verify
    assert [r.status_code for r in answers] == [401] * len(users)
    assert state["calls"] == len(users)
    assert state["max"] <= 2  # StoreResolver's max_concurrent_hashes
    assert loop_thread not in threads  # off the event loop
