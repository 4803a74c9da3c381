"""HTTP Basic: users' passwords and key pairs' key:secret."""

from __future__ import annotations

import base64

import httpx2
import pytest
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN, Runtime

UNIFORM = {"error": "invalid_token", "error_description": "The credentials are invalid."}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_user_password(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    await accounts.user("bob", password="correct horse battery", scopes=["read"])
    r = await client.get("/v1/whoami", headers=basic("bob", "correct horse battery"))
    assert r.status_code == 200
    assert r.json()["scheme"] == "basic" and r.json()["credential_id"] is None
    assert r.json()["scopes"] == ["read"]


@pytest.mark.parametrize(
    "password",
    [
        "pässwörd mit Ümläuten",
        "パスワードは長いです",
        "x" * 64,
        "🔑" * 20 + "tail",
        "a:b:c colons ok",
    ],
    ids=["latin", "japanese", "64-chars", "emoji", "colons"],
)
async def test_utf8_and_long_passwords(
    client: httpx2.AsyncClient, accounts: Accounts, password: str
) -> None:
    await accounts.user("utf", password=password)
    assert (await client.get("/v1/whoami", headers=basic("utf", password))).status_code == 200
    assert (await client.get("/v1/whoami", headers=basic("utf", password + "x"))).status_code == 401


async def test_no_72_byte_truncation(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    pw = "y" * 80
    await accounts.user("long", password=pw)
    assert (await client.get("/v1/whoami", headers=basic("long", "y" * 72))).status_code == 401


async def test_key_pair_key_and_secret(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    await accounts.user("svc", scopes=["read"])
    pair = await accounts.key("svc", type="key-pair", scopes=["read"])
    r = await client.get("/v1/whoami", headers=basic(pair["key"], pair["secret"]))
    assert r.status_code == 200
    assert r.json()["credential_id"] == pair["id"] and r.json()["scheme"] == "basic"
    last = "x" if pair["secret"][-1] != "x" else "y"  # never the same secret by chance
    wrong = await client.get("/v1/whoami", headers=basic(pair["key"], pair["secret"][:-1] + last))
    assert wrong.status_code == 401
    # a key pair's key alone is not an API key
    assert (await client.get("/v1/whoami", headers={"X-API-Key": pair["key"]})).status_code == 401


async def test_failures_identical(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    await accounts.user("carol", password="carols password")
    await accounts.user("dis", password="disabled password")
    from authgate.runtime import LOCAL_ADMIN

    await accounts.rt.users.disable(LOCAL_ADMIN, "dis")
    cases = {
        "wrong-password": basic("carol", "not carols password"),
        "unknown-user": basic("nobody", "carols password"),
        "disabled-user": basic("dis", "disabled password"),
        "bad-base64": {"Authorization": "Basic %%%notbase64"},
        "no-colon": {"Authorization": "Basic " + base64.b64encode(b"carol").decode()},
        "invalid-utf8": {"Authorization": "Basic " + base64.b64encode(b"carol:\xff\xfe").decode()},
        "empty": {"Authorization": "Basic "},
        "unknown-key-pair": basic("agp_" + "A" * 44, "ags_x"),
    }
    seen = set()
    for label, headers in cases.items():
        r = await client.get("/v1/whoami", headers=headers)
        assert r.status_code == 401, label
        assert r.json() == UNIFORM, label
        assert 'Basic realm="authgate", charset="UTF-8"' in r.headers["www-authenticate"]
        seen.add(r.content)
    assert len(seen) == 1


async def test_huge_password_refused_before_hashing(
    client: httpx2.AsyncClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    await accounts.user("h", password="some password")
    calls = []
    real = accounts.rt.hasher.verify
    monkeypatch.setattr(accounts.rt.hasher, "verify", lambda *a: calls.append(a) or real(*a))
    r = await client.get("/v1/whoami", headers=basic("h", "p" * 1_000_000))
    assert r.status_code == 413
    assert calls == []
    r = await client.get("/v1/whoami", headers=basic("h", "p" * 2000))  # under the header cap
    assert r.status_code == 401
    assert calls == []  # over the password length cap: no argon2 either


async def test_password_verification_is_cached_and_dropped_on_change(
    client: httpx2.AsyncClient,
    accounts: Accounts,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await accounts.user("dan", password="first password")
    calls = []
    real = runtime.hasher.verify
    monkeypatch.setattr(runtime.hasher, "verify", lambda *a: calls.append(1) or real(*a))
    for _ in range(5):
        assert (
            await client.get("/v1/whoami", headers=basic("dan", "first password"))
        ).status_code == 200
    assert len(calls) == 1  # argon2 paid once, not per request
    await runtime.users.set_password(LOCAL_ADMIN, "dan", "second password")
    assert (
        await client.get("/v1/whoami", headers=basic("dan", "first password"))
    ).status_code == 401
    assert (
        await client.get("/v1/whoami", headers=basic("dan", "second password"))
    ).status_code == 200


async def test_disable_drops_cached_password(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("fay", password="fays password")
    h = basic("fay", "fays password")
    assert (await client.get("/v1/whoami", headers=h)).status_code == 200
    await runtime.users.disable(LOCAL_ADMIN, "fay")
    assert (await client.get("/v1/whoami", headers=h)).status_code == 401


async def test_weak_hash_upgraded_on_login(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    from sqlalchemy import select, update

    from authgate.crypto.passwords import PasswordHasher
    from authgate.store.models import User

    await accounts.user("old", password="legacy password")
    weak = PasswordHasher(time_cost=2, memory_kib=19 * 1024).hash("legacy password")
    async with runtime.db.session() as s, s.begin():
        await s.execute(update(User).where(User.name == "old").values(password_hash=weak))
    assert (
        await client.get("/v1/whoami", headers=basic("old", "legacy password"))
    ).status_code == 200
    async with runtime.db.session() as s:
        stored = await s.scalar(select(User.password_hash).where(User.name == "old"))
    assert stored != weak and not runtime.hasher.needs_rehash(stored or "")


async def test_password_hashing_runs_off_the_event_loop(
    client: httpx2.AsyncClient,
    accounts: Accounts,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    await accounts.user("th", password="thread password")
    threads = []
    real = runtime.hasher.verify

    def spy(*args: object) -> bool:
        threads.append(threading.get_ident())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(runtime.hasher, "verify", spy)
    await client.get("/v1/whoami", headers=basic("th", "wrong password"))
    assert threads and threads[0] != threading.get_ident()
