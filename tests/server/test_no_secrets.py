"""No secret appears in the database, logs, list output, audit events or errors."""

from __future__ import annotations

import logging

import httpx2
import pytest
from sqlalchemy import text
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
