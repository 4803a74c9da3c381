"""argon2 (~70 ms, 32 MiB per hash) never runs on the event loop: creating a user,
changing a password and upgrading a hash at login happen in worker threads, so one
admin request cannot stall every other request of the instance."""

from __future__ import annotations

import threading

import pytest

from authgate.crypto.passwords import PasswordHasher
from authgate.runtime import LOCAL_ADMIN, Runtime


@pytest.fixture
def hashing_threads(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads argon2 hashed in (the real hasher, observed)."""
    seen: list[str] = []
    real = PasswordHasher.hash

    def observed(self: PasswordHasher, password: str) -> str:
        seen.append(threading.current_thread().name)
        return real(self, password)

    monkeypatch.setattr(PasswordHasher, "hash", observed)
    return seen


async def test_create_and_set_password_hash_in_a_worker_thread(
    runtime: Runtime, hashing_threads: list[str]
) -> None:
    await runtime.users.create(LOCAL_ADMIN, "hana", password="a long first password")
    await runtime.users.set_password(LOCAL_ADMIN, "hana", "a long second password")
    assert len(hashing_threads) == 2
    assert threading.main_thread().name not in hashing_threads
    assert await runtime.resolver.check_password("hana", "a long second password")


async def test_rehash_at_login_happens_in_a_worker_thread(
    runtime: Runtime, hashing_threads: list[str]
) -> None:
    weak = PasswordHasher(time_cost=2, memory_kib=19 * 1024)
    await runtime.users.create(LOCAL_ADMIN, "ivo", password="a long first password")
    from sqlalchemy import update

    from authgate.store.models import User

    async with runtime.db.session() as s, s.begin():  # as older parameters left it
        await s.execute(
            update(User)
            .where(User.name == "ivo")
            .values(password_hash=weak.hash("a long first password"))
        )
    hashing_threads.clear()
    assert await runtime.resolver.check_password("ivo", "a long first password")
    assert len(hashing_threads) == 1 and hashing_threads[0] != threading.main_thread().name
