"""Disabling a user ends everything of theirs; a rotation grace ends its tokens.

Issue 8 items 4 and 5, over HTTP against the real server (SQLite and PostgreSQL).

- A disabled user's OAuth clients get no tokens (client lookup refuses a disabled
  owner) and the tokens they had stop, as do the user's own; also when the user is
  disabled by another process (a second runtime on the same database, as the CLI is):
  the server hears of it through the change feed, not through its own hooks.
- A key pair rotated with a grace period: the access token bought with the old pair
  works during the grace and stops when it ends, though its ``exp`` is an hour away.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx2
import jwt
from tests._oauth_support import OAuthWorld, basic, bearer, oauth
from tests.conftest import Accounts

from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.tokens.holders import CLOCK_LEEWAY

__all__ = ["oauth"]


async def _cc_token(world: OAuthWorld, client: dict[str, Any]) -> httpx2.Response:
    return await world.token(
        {"grant_type": "client_credentials"},
        headers=basic(client["client_id"], client["client_secret"]),
    )


async def _status(world: OAuthWorld, token: str) -> int:
    return (await world.client.get("/v1/whoami", headers=bearer(token))).status_code


async def _active(world: OAuthWorld, rs: dict[str, Any], token: str) -> bool:
    r = await world.client.post(
        "/oauth/introspect",
        data={"token": token},
        headers=basic(rs["client_id"], rs["client_secret"]),
    )
    return bool(r.json()["active"])


async def test_a_disabled_owner_s_clients_get_no_tokens_and_lose_theirs(
    oauth: OAuthWorld, accounts: Accounts
) -> None:
    await accounts.user("owner", scopes=["read"])
    mine = await oauth.register(name="mine", user="owner", scopes=["read"])
    rs = await oauth.register(name="rs", scopes=[])
    r = await _cc_token(oauth, mine)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert await _status(oauth, token) == 200

    await oauth.rt.users.disable(LOCAL_ADMIN, "owner")

    assert (await _cc_token(oauth, mine)).status_code == 401  # invalid_client
    assert await _status(oauth, token) == 401
    assert not await _active(oauth, rs, token)


async def test_disabling_in_another_process_stops_the_user_s_and_client_s_tokens(
    oauth: OAuthWorld, accounts: Accounts, other_process: Runtime
) -> None:
    await accounts.user("bob", scopes=["read"])
    pair = await accounts.key("bob", type="key-pair")
    r = await oauth.client.post(
        "/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]}
    )
    user_token = r.json()["access_token"]
    bobs = await oauth.register(name="bobs", user="bob", scopes=["read"])
    client_token = (await _cc_token(oauth, bobs)).json()["access_token"]
    assert await _status(oauth, user_token) == 200
    assert await _status(oauth, client_token) == 200

    await other_process.users.disable(LOCAL_ADMIN, "bob")
    assert oauth.rt.feed is not None
    await oauth.rt.feed.poll()  # what the running server does every change_poll_interval

    assert await _status(oauth, user_token) == 401
    assert await _status(oauth, client_token) == 401
    assert (await _cc_token(oauth, bobs)).status_code == 401


async def test_a_rotation_grace_ends_the_old_pair_s_access_tokens(
    oauth: OAuthWorld, accounts: Accounts
) -> None:
    await accounts.user("carol", role="admin")
    admin = await accounts.key("carol")
    pair = await accounts.key("carol", type="key-pair")
    rs = await oauth.register(name="rs", scopes=[])
    r = await oauth.client.post(
        "/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]}
    )
    token = r.json()["access_token"]
    assert r.json()["expires_in"] >= 3000

    rotated = await oauth.client.post(
        f"/v1/keys/{pair['id']}/rotate", json={"grace": "2s"}, headers={"X-API-Key": admin["key"]}
    )
    assert rotated.status_code == 201, rotated.text
    assert await _status(oauth, token) == 200  # during the grace
    assert await _active(oauth, rs, token)

    await asyncio.sleep(2.2)

    assert await _status(oauth, token) == 401  # the grace is over, exp is not
    assert not await _active(oauth, rs, token)


async def test_rotation_without_grace_ends_them_at_once(
    oauth: OAuthWorld, accounts: Accounts
) -> None:
    await accounts.user("dave")
    pair = await accounts.key("dave", type="key-pair")
    r = await oauth.client.post(
        "/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]}
    )
    token = r.json()["access_token"]
    await oauth.rt.keys.rotate(LOCAL_ADMIN, pair["id"], grace=timedelta(0))
    assert await _status(oauth, token) == 401


async def test_an_enabled_user_s_new_tokens_work_and_old_ones_stay_refused(
    oauth: OAuthWorld, accounts: Accounts, settings: Settings
) -> None:
    """A denial refuses the tokens issued before it, not the holder for ever: once a
    disabled user is enabled again, tokens bought afterwards work (also after a
    restart), while the ones they held when disabled stay refused."""
    await accounts.user("erin", scopes=["read"])
    pair = await accounts.key("erin", type="key-pair")
    erins = await oauth.register(name="erins", user="erin", scopes=["read"])

    async def pair_token() -> str:
        r = await oauth.client.post(
            "/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    old_user_token = await pair_token()
    old_client_token = (await _cc_token(oauth, erins)).json()["access_token"]
    await oauth.rt.users.disable(LOCAL_ADMIN, "erin")
    await asyncio.sleep(CLOCK_LEEWAY + 1.1)  # iat has a resolution of one second
    await oauth.rt.users.enable(LOCAL_ADMIN, "erin")

    new_user_token = await pair_token()
    r = await _cc_token(oauth, erins)
    assert r.status_code == 200, r.text
    new_client_token = r.json()["access_token"]
    assert await _status(oauth, new_user_token) == 200
    assert await _status(oauth, new_client_token) == 200
    assert await _status(oauth, old_user_token) == 401
    assert await _status(oauth, old_client_token) == 401

    restarted = await Runtime.open(settings, batched_audit=False)  # rebuilt from the log
    try:
        new_claims = jwt.decode(new_user_token, options={"verify_signature": False})
        old_claims = jwt.decode(old_user_token, options={"verify_signature": False})
        assert not restarted.tokens.holders.denies(new_claims)
        assert restarted.tokens.holders.denies(old_claims)
    finally:
        await restarted.close()
