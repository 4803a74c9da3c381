"""API keys through the real server: every presentation, lifecycle, uniform failures."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from tests.conftest import Accounts, make_settings

from authgate.config import Settings
from authgate.crypto.keys import API_KEY_PREFIX, generate_key
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

UNIFORM = {"error": "invalid_token", "error_description": "The credentials are invalid."}


@pytest.fixture
async def alice_key(accounts: Accounts) -> dict[str, object]:
    await accounts.user("alice", scopes=["read", "write"])
    return await accounts.key("alice", name="ci", scopes=["read"])


@pytest.mark.parametrize(
    "presentation",
    [
        lambda k: {"X-API-Key": k},
        lambda k: {"x-api-key": k},
        lambda k: {"Authorization": f"ApiKey {k}"},
        lambda k: {"Authorization": f"apikey {k}"},
        lambda k: {"Authorization": f"Bearer {k}"},
    ],
    ids=["x-api-key", "x-api-key-lower", "authorization-apikey", "apikey-lower", "bearer"],
)
async def test_every_header_presentation(
    client: httpx2.AsyncClient, alice_key: dict[str, object], presentation: object
) -> None:
    r = await client.get("/v1/whoami", headers=presentation(alice_key["key"]))  # type: ignore[operator]
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "subject": "alice",
        "principal_id": body["principal_id"],
        "scheme": "apikey",
        "credential_id": alice_key["id"],
        "scopes": ["read"],
        "roles": ["member"],
    }


async def test_query_key_refused_unless_enabled(
    client: httpx2.AsyncClient, alice_key: dict[str, object]
) -> None:
    r = await client.get("/v1/whoami", params={"api_key": alice_key["key"]})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"  # not even looked at


async def test_query_key_accepted_only_on_enabled_path(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_key_query_paths=["/v1/whoami"])
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "q", scopes=[])
        key = (await rt.keys.create(LOCAL_ADMIN, user="q")).key
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/v1/whoami", params={"api_key": key})).status_code == 200
            r = await c.get("/v1/keys", params={"api_key": key})
            assert r.status_code == 401
            dup = await c.get(f"/v1/whoami?api_key={key}&api_key={key}")
            assert dup.status_code == 400
    finally:
        await rt.close()


async def test_unknown_revoked_expired_offbyone_wrong_are_identical(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    key = str(alice_key["key"])
    revoked = await accounts.key("alice")
    await runtime.keys.revoke(LOCAL_ADMIN, revoked["id"])
    short = await accounts.key("alice", expires_in=__import__("datetime").timedelta(seconds=1))
    await asyncio.sleep(1.1)
    off_by_one = key[:-7] + ("a" if key[-7] != "a" else "b") + key[-6:]
    candidates = {
        "unknown": generate_key(API_KEY_PREFIX),
        "revoked": revoked["key"],
        "expired": short["key"],
        "off-by-one": off_by_one,
        "truncated": key[:-1],
        "garbage": "hello",
        "non-ascii": "agk_ключ".encode(),  # raw UTF-8 bytes on the wire
    }
    responses = {}
    for label, value in candidates.items():
        r = await client.get("/v1/whoami", headers={"X-API-Key": value})
        responses[label] = (r.status_code, r.content, r.headers.get("www-authenticate"))
    assert len(set(responses.values())) == 1, responses
    status, content, _ = responses["unknown"]
    assert status == 401 and httpx2.Response(200, content=content).json() == UNIFORM


async def test_revocation_takes_effect_immediately(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    h = {"X-API-Key": str(alice_key["key"])}
    assert (await client.get("/v1/whoami", headers=h)).status_code == 200  # now cached
    await runtime.keys.revoke(LOCAL_ADMIN, str(alice_key["id"]))
    assert (await client.get("/v1/whoami", headers=h)).status_code == 401


async def test_rotation_without_grace(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    old = {"X-API-Key": str(alice_key["key"])}
    assert (await client.get("/v1/whoami", headers=old)).status_code == 200
    new = (await runtime.keys.rotate(LOCAL_ADMIN, str(alice_key["id"]))).as_json()
    assert new["id"] != alice_key["id"] and new["key"] != alice_key["key"]
    assert (new["name"], new["scopes"]) == (alice_key["name"], alice_key["scopes"])
    assert (await client.get("/v1/whoami", headers=old)).status_code == 401
    r = await client.get("/v1/whoami", headers={"X-API-Key": new["key"]})
    assert r.status_code == 200 and r.json()["credential_id"] == new["id"]
    listed = {k.id: k for k in await runtime.keys.list_keys(LOCAL_ADMIN)}
    assert listed[new["id"]].rotated_from == alice_key["id"]


async def test_rotation_with_grace_keeps_old_key_until_grace_ends(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    from datetime import timedelta

    old = {"X-API-Key": str(alice_key["key"])}
    assert (await client.get("/v1/whoami", headers=old)).status_code == 200
    new = await runtime.keys.rotate(LOCAL_ADMIN, str(alice_key["id"]), grace=timedelta(seconds=1))
    assert (await client.get("/v1/whoami", headers=old)).status_code == 200
    assert (await client.get("/v1/whoami", headers={"X-API-Key": new.key})).status_code == 200
    await asyncio.sleep(1.1)
    assert (await client.get("/v1/whoami", headers=old)).status_code == 401
    assert (await client.get("/v1/whoami", headers={"X-API-Key": new.key})).status_code == 200


async def test_rotating_a_revoked_key_is_a_conflict(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    await runtime.keys.revoke(LOCAL_ADMIN, str(alice_key["id"]))
    admin = await runtime.users.create(LOCAL_ADMIN, "root2", role="admin")
    akey = (await runtime.keys.create(LOCAL_ADMIN, user=admin.name)).key
    r = await client.post(f"/v1/keys/{alice_key['id']}/rotate", headers={"X-API-Key": akey})
    assert r.status_code == 409


async def test_disabled_user_keys_stop_at_once(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    h = {"X-API-Key": str(alice_key["key"])}
    assert (await client.get("/v1/whoami", headers=h)).status_code == 200
    await runtime.users.disable(LOCAL_ADMIN, "alice")
    assert (await client.get("/v1/whoami", headers=h)).status_code == 401


async def test_last_used_is_written_in_batches(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    h = {"X-API-Key": str(alice_key["key"])}
    for _ in range(5):
        assert (await client.get("/v1/whoami", headers=h)).status_code == 200
    before = await runtime.keys.get(LOCAL_ADMIN, str(alice_key["id"]))
    assert before.last_used_at is None  # nothing written per request
    assert await runtime.usage.flush() == 1  # five uses, one row written
    after = await runtime.keys.get(LOCAL_ADMIN, str(alice_key["id"]))
    assert after.last_used_at is not None


async def test_expired_key_in_cache_stops_at_expiry(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    from datetime import timedelta

    await accounts.user("eve")
    k = await accounts.key("eve", expires_in=timedelta(seconds=1))
    h = {"X-API-Key": k["key"]}
    assert (await client.get("/v1/whoami", headers=h)).status_code == 200  # cached now
    await asyncio.sleep(1.1)
    assert (await client.get("/v1/whoami", headers=h)).status_code == 401


async def test_key_scopes_shrink_with_owner(
    client: httpx2.AsyncClient, runtime: Runtime, accounts: Accounts, settings: Settings
) -> None:
    await accounts.user("mia", scopes=["a", "b"])
    k = await accounts.key("mia", scopes=["a", "b"])
    r = await client.get("/v1/whoami", headers={"X-API-Key": k["key"]})
    assert r.json()["scopes"] == ["a", "b"]


async def test_revoked_key_retries_do_not_reach_the_database(
    client: httpx2.AsyncClient, runtime: Runtime, alice_key: dict[str, object]
) -> None:
    await runtime.keys.revoke(LOCAL_ADMIN, str(alice_key["id"]))
    h = {"X-API-Key": str(alice_key["key"])}
    assert (await client.get("/v1/whoami", headers=h)).status_code == 401
    loads = []
    real = runtime.resolver._load

    async def counting(*args: object) -> object:
        loads.append(args)
        return await real(*args)  # type: ignore[arg-type]

    runtime.resolver._load = counting  # type: ignore[method-assign]
    for _ in range(3):
        assert (await client.get("/v1/whoami", headers=h)).status_code == 401
    assert loads == []


async def test_revocation_during_an_in_flight_lookup_is_not_cached_away(
    runtime: Runtime, alice_key: dict[str, object]
) -> None:
    """A lookup that read the key before a revocation must not cache what it read."""
    resolver = runtime.resolver
    real = resolver._load
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(*args: object) -> object:
        row = await real(*args)  # type: ignore[arg-type]
        started.set()
        await release.wait()  # the revocation lands here, after the row was read
        return row

    resolver._load = slow  # type: ignore[method-assign]
    lookup = asyncio.ensure_future(resolver.resolve_api_key(str(alice_key["key"])))
    await started.wait()
    await runtime.keys.revoke(LOCAL_ADMIN, str(alice_key["id"]))
    release.set()
    await lookup  # this one request raced the revocation; it may pass
    resolver._load = real  # type: ignore[method-assign]
    assert await resolver.resolve_api_key(str(alice_key["key"])) is None


def test_identity_shortcut_ignores_results_from_before_a_clear() -> None:
    from authgate.identity import Identity
    from authgate.schemes.fastpath import VerifiedIdentityCache

    cache = VerifiedIdentityCache()
    key = cache.key(b"x-api-key", b"agk_x")
    epoch = cache.epoch
    cache.clear()  # e.g. a revocation while the request was being verified
    cache.put(key, Identity(subject="s", principal_id="p", scheme="apikey"), epoch=epoch)
    assert cache.get(key) is None
    cache.put(key, Identity(subject="s", principal_id="p", scheme="apikey"), epoch=cache.epoch)
    assert cache.get(key) is not None


@contextlib.asynccontextmanager
async def _query_world(
    tmp_path: Path, query_paths: list[str]
) -> AsyncIterator[tuple[httpx2.AsyncClient, dict[str, str]]]:
    """A server with ``?api_key=`` enabled on ``query_paths``; keys of two users."""
    settings = make_settings(tmp_path, api_key_query_paths=query_paths)
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "q", scopes=[])
        await rt.users.create(LOCAL_ADMIN, "h", scopes=[], password=_H_PASSWORD)
        pair = (await rt.keys.create(LOCAL_ADMIN, user="h", type="key-pair")).as_json()
        keys = {
            "query": (await rt.keys.create(LOCAL_ADMIN, user="q")).key,
            "header": (await rt.keys.create(LOCAL_ADMIN, user="h")).key,
        }
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/auth", auth=(str(pair["key"]), str(pair["secret"])))
            assert r.status_code == 200
            keys["jwt"] = r.json()["access_token"]
            yield c, keys
    finally:
        await rt.close()


_H_PASSWORD = "h-password-long-enough"
_HEADER_CREDENTIALS = {
    "x-api-key": lambda k: {"X-API-Key": k["header"]},
    "authorization-apikey": lambda k: {"Authorization": f"ApiKey {k['header']}"},
    "authorization-bearer-key": lambda k: {"Authorization": f"Bearer {k['header']}"},
    "authorization-bearer-jwt": lambda k: {"Authorization": f"Bearer {k['jwt']}"},
    "authorization-basic": lambda k: {
        "Authorization": "Basic " + base64.b64encode(f"h:{_H_PASSWORD}".encode()).decode()
    },
    "authorization-unknown-scheme": lambda k: {"Authorization": "Foo bar"},
}


@pytest.mark.parametrize("header", sorted(_HEADER_CREDENTIALS))
async def test_query_key_with_header_credential_is_400(tmp_path: Path, header: str) -> None:
    """Issue 8 item 11: ``?api_key=`` plus any header credential is two credentials."""
    async with _query_world(tmp_path, ["/v1/whoami"]) as (c, keys):
        headers = _HEADER_CREDENTIALS[header](keys)
        if header != "authorization-unknown-scheme":
            alone = await c.get("/v1/whoami", headers=headers)
            assert alone.status_code == 200, alone.text  # the header alone is a good credential
            assert alone.json()["subject"] == "h"
        r = await c.get("/v1/whoami", params={"api_key": keys["query"]}, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request"
        empty = await c.get("/v1/whoami?api_key=", headers=headers)
        assert empty.status_code == 400, empty.text


async def test_query_api_key_on_a_path_without_query_keys_is_not_a_credential(
    tmp_path: Path,
) -> None:
    """Where query keys are off, ``api_key`` is the application's parameter, not a credential.

    The header authenticates; the parameter is neither verified nor refused.
    """
    async with _query_world(tmp_path, ["/v1/keys"]) as (c, keys):
        r = await c.get(
            "/v1/whoami", params={"api_key": keys["query"]}, headers={"X-API-Key": keys["header"]}
        )
        assert r.status_code == 200, r.text
        assert r.json()["subject"] == "h"
