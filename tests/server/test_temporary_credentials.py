"""Temporary SigV4 credentials (key, secret, session token), as AWS STS issues them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sqlalchemy import update
from tests.conftest import Accounts

from authgate.errors import Conflict, InvalidRequest
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.store.models import Credential

URL = "http://testserver/v1/whoami"


def signed(key: str, secret: str, token: str | None) -> dict[str, str]:
    req = AWSRequest(method="GET", url=URL)
    SigV4Auth(Credentials(key, secret, token), "execute-api", "us-east-1").add_auth(req)
    return dict(req.headers.items())


@pytest.fixture
async def temp(accounts: Accounts, client: httpx2.AsyncClient) -> dict[str, Any]:
    await accounts.user("t", scopes=["read", "write"])
    key = (await accounts.key("t", scopes=["read", "write"]))["key"]
    r = await client.post(
        "/v1/keys/temporary",
        json={"duration": "15m", "scopes": ["read"]},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return {**r.json(), "api_key": key}


async def test_shape(temp: dict[str, Any]) -> None:
    assert list(temp)[:-1] == [
        "id",
        "type",
        "key",
        "secret",
        "session_token",
        "prefix",
        "name",
        "scopes",
        "expires_at",
    ]
    assert temp["type"] == "session" and temp["session_token"].startswith("agt_")
    expires = datetime.fromisoformat(temp["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)


async def test_botocore_with_session_token(
    client: httpx2.AsyncClient, temp: dict[str, Any]
) -> None:
    r = await client.get(URL, headers=signed(temp["key"], temp["secret"], temp["session_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["scheme"] == "sigv4" and r.json()["scopes"] == ["read"]
    req = AWSRequest(method="GET", url=URL)
    creds = Credentials(temp["key"], temp["secret"], temp["session_token"])
    SigV4QueryAuth(creds, "execute-api", "us-east-1", 60).add_auth(req)
    assert (await client.get(req.url)).status_code == 200


async def test_session_credentials_require_their_token(
    client: httpx2.AsyncClient, temp: dict[str, Any], accounts: Accounts
) -> None:
    assert (
        await client.get(URL, headers=signed(temp["key"], temp["secret"], None))
    ).status_code == 403
    other = (
        await client.post("/v1/keys/temporary", json={}, headers={"X-API-Key": temp["api_key"]})
    ).json()
    wrong = signed(temp["key"], temp["secret"], other["session_token"])
    assert (await client.get(URL, headers=wrong)).status_code == 403


async def test_long_term_key_refuses_a_session_token(
    client: httpx2.AsyncClient, temp: dict[str, Any], accounts: Accounts
) -> None:
    pair = await accounts.key("t", type="key-pair")
    assert (
        await client.get(URL, headers=signed(pair["key"], pair["secret"], None))
    ).status_code == 200
    r = await client.get(URL, headers=signed(pair["key"], pair["secret"], temp["session_token"]))
    assert r.status_code == 403


async def test_session_credentials_only_work_with_sigv4(
    client: httpx2.AsyncClient, temp: dict[str, Any]
) -> None:
    basic = base64.b64encode(f"{temp['key']}:{temp['secret']}".encode()).decode()
    r = await client.get(URL, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401


async def test_expired_and_revoked_session_refused(
    client: httpx2.AsyncClient, temp: dict[str, Any], runtime: Runtime
) -> None:
    h = signed(temp["key"], temp["secret"], temp["session_token"])
    assert (await client.get(URL, headers=h)).status_code == 200
    await runtime.keys.revoke(LOCAL_ADMIN, temp["id"])
    assert (
        await client.get(URL, headers=signed(temp["key"], temp["secret"], temp["session_token"]))
    ).status_code == 403


async def test_expiry_is_enforced(
    client: httpx2.AsyncClient, temp: dict[str, Any], runtime: Runtime
) -> None:
    async with runtime.db.session() as s, s.begin():
        await s.execute(
            update(Credential)
            .where(Credential.id == temp["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    runtime.resolver.invalidate_credential(temp["id"])
    h = signed(temp["key"], temp["secret"], temp["session_token"])
    assert (await client.get(URL, headers=h)).status_code == 403


async def test_limits_and_rules(accounts: Accounts, runtime: Runtime, temp: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="15m and 12h"):
        await runtime.keys.create_session(LOCAL_ADMIN, user="t", duration=timedelta(hours=13))
    with pytest.raises(InvalidRequest, match="15m and 12h"):
        await runtime.keys.create_session(LOCAL_ADMIN, user="t", duration=timedelta(minutes=5))
    with pytest.raises(Conflict, match="cannot be rotated"):
        await runtime.keys.rotate(LOCAL_ADMIN, temp["id"])
    from authgate.errors import InvalidScope

    with pytest.raises(InvalidScope):
        await runtime.keys.create_session(LOCAL_ADMIN, user="t", scopes=["admin"])


async def test_temporary_credentials_cannot_use_the_admin_api(
    client: httpx2.AsyncClient, temp: dict[str, Any]
) -> None:
    req = AWSRequest(method="GET", url="http://testserver/v1/keys")
    creds = Credentials(temp["key"], temp["secret"], temp["session_token"])
    SigV4Auth(creds, "execute-api", "us-east-1").add_auth(req)
    r = await client.get("/v1/keys", headers=dict(req.headers.items()))
    assert r.status_code == 403
