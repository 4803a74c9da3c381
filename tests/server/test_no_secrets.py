"""No secret appears in the database, logs, list output, audit events or errors."""

from __future__ import annotations

import logging

import httpx2
import pytest
from sqlalchemy import text
from tests._audit_support import audit_rows
from tests._oauth_support import OAuthWorld, basic
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN, Runtime


async def test_no_secret_anywhere(
    client: httpx2.AsyncClient,
    accounts: Accounts,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pw-that-must-not-leak"
    await accounts.user("leaky", password=password, scopes=["read"])
    api = await accounts.key("leaky", scopes=["read"])
    pair = await accounts.key("leaky", type="key-pair")
    rotated = (await runtime.keys.rotate(LOCAL_ADMIN, api["id"])).as_json()
    secrets = [password, api["key"], pair["key"], pair["secret"], rotated["key"]]
    # a wrong guess that shares a long prefix with a real secret must not be logged either
    wrong_guess = pair["secret"][:-3] + "zzz"

    await client.get("/v1/whoami", headers={"X-API-Key": api["key"]})
    await client.get("/v1/whoami", headers={"X-API-Key": rotated["key"]})
    await client.get("/v1/whoami", auth=httpx2.BasicAuth("leaky", password))
    await client.get("/v1/whoami", auth=httpx2.BasicAuth("leaky", password + "!"))
    await client.get("/v1/whoami", auth=httpx2.BasicAuth(pair["key"], wrong_guess))
    await client.get("/v1/whoami", auth=httpx2.BasicAuth(pair["key"], pair["secret"]))
    await runtime.usage.flush()

    haystacks: list[str] = []
    async with runtime.db.engine.connect() as conn:
        for table in ("users", "credentials", "audit_events"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
            haystacks.append(repr(rows))
    h = {"X-API-Key": rotated["key"]}
    haystacks.append((await client.get("/v1/keys", headers=h)).text)
    haystacks.append((await client.get("/v1/audit", headers=h)).text)
    haystacks.append((await client.get("/v1/users", headers=h)).text)
    haystacks.append(caplog.text)
    haystacks.append(repr(await runtime.keys.list_keys(LOCAL_ADMIN)))
    bad = await client.get("/v1/whoami", auth=httpx2.BasicAuth(pair["key"], wrong_guess))
    haystacks.append(bad.text + repr(bad.headers))

    everything = "\n".join(haystacks)
    assert "credentials" in haystacks[0] or haystacks[0]  # we did read the tables
    for secret in [*secrets, wrong_guess]:
        assert secret not in everything
    # the database holds a digest of the key and a sealed secret, never the values
    assert pair["secret"][4:] not in everything and api["key"][12:] not in everything


def test_secret_reprs_are_redacted() -> None:
    from authgate.crypto.secret import Secret

    s = Secret("ags_abc")
    assert "ags_abc" not in repr(s) and "ags_abc" not in str(s) and "ags_abc" not in f"{s}"


async def test_no_secret_in_security_event_records(
    oauth: OAuthWorld,
    accounts: Accounts,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The events of issue 8 item 14 (client authentication failures, refresh-token
    reuse, lock-outs, failed exchanges) carry identifiers and reasons, never secrets."""
    caplog.set_level(logging.DEBUG)
    rt, client = oauth.rt, oauth.client
    c = await oauth.register(grants=["client_credentials", "refresh_token"])
    near_secret = c["client_secret"][:-3] + "zzz"
    password = "pw-of-a-locked-out-user"
    await accounts.user("erin", password=password, scopes=["read"])
    pair = await accounts.key("erin", type="key-pair", scopes=["read"])
    await accounts.user("root2", role="admin", scopes=["authgate:admin"])
    admin_key = await accounts.key("root2", scopes=["authgate:admin"])

    await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(c["client_id"], near_secret)
    )
    await oauth.token(
        {
            "grant_type": "client_credentials",
            "client_id": c["client_id"],
            "client_secret": near_secret,
        }
    )
    user = await rt.users.create(LOCAL_ADMIN, "frank", role="member", scopes=["read"])
    first = (
        await rt.tokens.refresh.issue(user_id=user.id, client_id=c["client_id"], scopes=("read",))
    ).token
    h = basic(c["client_id"], c["client_secret"])
    second = (
        await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h)
    ).json()
    await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h)
    exchanged = (
        await client.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
    ).json()
    await client.post("/auth/refresh", json={"refresh_token": exchanged["refresh_token"]})
    await client.post("/auth/refresh", json={"refresh_token": exchanged["refresh_token"]})
    await client.post("/auth", json={"api_key": pair["key"], "api_secret": near_secret})
    guesses = [password + str(i) for i in range(5)]
    for guess in guesses:
        await client.get("/v1/whoami", auth=httpx2.BasicAuth("erin", guess))

    events = {r["event"] for r in await audit_rows(rt)}
    assert {"auth.failure", "token.refresh_reuse", "auth.lockout"} <= events
    haystacks = [repr(await audit_rows(rt)), caplog.text]
    listed = await client.get("/v1/audit", headers={"X-API-Key": admin_key["key"]})
    assert listed.status_code == 200
    haystacks.append(listed.text)
    everything = "\n".join(haystacks)
    secrets = [
        c["client_secret"],
        near_secret,
        password,
        *guesses,
        pair["secret"],
        first,
        second["refresh_token"],
        second["access_token"],
        exchanged["refresh_token"],
        exchanged["access_token"],
    ]
    for secret in secrets:
        assert secret not in everything
