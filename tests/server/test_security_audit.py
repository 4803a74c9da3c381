"""Every failed authentication and every security event is audited, without secrets.

The OAuth endpoints authenticate clients themselves (outside the scheme chain), a
refresh-token reuse revokes a family inside the token service, a throttle refuses a
login before any scheme fails: none of them was audited. (Issue 8, item 14.)
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from tests._audit_support import assert_no_secret, audit_rows
from tests._oauth_support import OAuthWorld, basic
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN, Runtime

CLIENT_IP = "203.0.113.7"  # the ASGI test client's address
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CC = {"grant_type": "client_credentials"}


async def _failures(rt: Runtime, path: str) -> list[dict[str, Any]]:
    return [r for r in await audit_rows(rt, "auth.failure") if r["detail"]["path"] == path]


async def test_invalid_client_wrong_secret_at_token_endpoint_is_audited(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    wrong = c["client_secret"][:-4] + "zzzz"
    r = await oauth.token(CC, headers=basic(c["client_id"], wrong))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    [row] = await _failures(oauth.rt, "/oauth/token")
    assert row["outcome"] == "failure" and row["scheme"] == "oauth_client"
    assert row["client_ip"] == CLIENT_IP
    assert row["credential_id"] == c["client_id"]
    assert row["detail"]["client_id"] == c["client_id"]
    assert row["detail"]["client_auth_method"] == "client_secret_basic"
    assert row["detail"]["error"] == "invalid_client" and row["detail"]["status"] == 401
    assert_no_secret([row], wrong, c["client_secret"])


async def test_invalid_client_unknown_client_at_token_endpoint_is_audited(
    oauth: OAuthWorld,
) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    r = await oauth.token(CC | {"client_id": "nosuchclient", "client_secret": secret})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    [row] = await _failures(oauth.rt, "/oauth/token")
    assert row["detail"]["client_id"] == "nosuchclient"
    assert row["detail"]["client_auth_method"] == "client_secret_post"
    assert row["client_ip"] == CLIENT_IP and row["credential_id"] is None
    assert_no_secret([row], secret)


async def test_invalid_client_bad_private_key_jwt_at_token_endpoint_is_audited(
    oauth: OAuthWorld,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1"}
    c = await oauth.register(
        token_endpoint_auth_method="private_key_jwt", jwks={"keys": [public]}, scopes=["read"]
    )
    other = ec.generate_private_key(ec.SECP256R1())  # not the registered key
    now = int(time.time())
    claims = {
        "iss": c["client_id"],
        "sub": c["client_id"],
        "aud": oauth.issuer + "/oauth/token",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }
    forged = jwt.encode(claims, other, algorithm="ES256", headers={"kid": "k1"})
    r = await oauth.token(
        CC | {"client_assertion_type": ASSERTION_TYPE, "client_assertion": forged}
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    [row] = await _failures(oauth.rt, "/oauth/token")
    assert row["detail"]["client_id"] == c["client_id"]
    assert row["detail"]["client_auth_method"] == "private_key_jwt"
    assert row["detail"]["reason"] == "client: assertion signature"
    assert row["client_ip"] == CLIENT_IP
    assert_no_secret([row], forged, forged.split(".")[2])


async def test_invalid_client_at_introspect_revoke_and_device_endpoints_is_audited(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    h = basic(c["client_id"], "wrong-secret-value")
    assert (
        await oauth.client.post("/oauth/introspect", data={"token": "x"}, headers=h)
    ).status_code == 401
    assert (
        await oauth.client.post("/oauth/revoke", data={"token": "x"}, headers=h)
    ).status_code == 401
    device = await oauth.client.post(
        "/oauth/device_authorization", data={"scope": "read"}, headers=h
    )
    assert device.status_code == 401, device.text
    for path in ("/oauth/introspect", "/oauth/revoke", "/oauth/device_authorization"):
        [row] = await _failures(oauth.rt, path)
        assert row["detail"]["client_id"] == c["client_id"] and row["client_ip"] == CLIENT_IP
        assert_no_secret([row], "wrong-secret-value", c["client_secret"])


async def test_refresh_token_reuse_at_token_endpoint_is_audited(oauth: OAuthWorld) -> None:
    c = await oauth.register(grants=["refresh_token"])
    h = basic(c["client_id"], c["client_secret"])
    user = await oauth.rt.users.create(LOCAL_ADMIN, "alice", role="member", scopes=["read"])
    first = (
        await oauth.rt.tokens.refresh.issue(
            user_id=user.id, client_id=c["client_id"], scopes=("read",)
        )
    ).token
    ok = await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h)
    assert ok.status_code == 200, ok.text
    assert await audit_rows(oauth.rt, "token.refresh_reuse") == []
    replay = await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    [row] = await audit_rows(oauth.rt, "token.refresh_reuse")
    assert row["outcome"] == "failure" and row["target_user_id"] == user.id
    assert row["client_ip"] == CLIENT_IP
    assert row["detail"]["client_id"] == c["client_id"]
    assert row["detail"]["action"] == "family_revoked" and row["detail"]["family_id"]
    assert row["detail"]["path"] == "/oauth/token"
    assert_no_secret([row], first, ok.json()["refresh_token"], ok.json()["access_token"])


async def test_refresh_token_reuse_at_auth_refresh_is_audited(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("bob", scopes=["read"])
    pair = await accounts.key("bob", type="key-pair", scopes=["read"])
    tokens = (
        await client.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
    ).json()
    first = tokens["refresh_token"]
    ok = await client.post("/auth/refresh", json={"refresh_token": first})
    assert ok.status_code == 200, ok.text
    replay = await client.post("/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    [row] = await audit_rows(runtime, "token.refresh_reuse")
    assert row["credential_id"] == pair["id"] and row["client_ip"] == CLIENT_IP
    assert row["detail"]["path"] == "/auth/refresh"
    assert row["detail"]["action"] == "family_revoked"
    # the failed refresh itself is a failed authentication too
    [failure] = await _failures(runtime, "/auth/refresh")
    assert failure["scheme"] == "refresh_token" and failure["client_ip"] == CLIENT_IP
    rows = await audit_rows(runtime)
    assert_no_secret(rows, first, pair["secret"], ok.json()["refresh_token"])


async def test_failed_key_pair_exchange_at_auth_is_audited(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("carol", scopes=["read"])
    pair = await accounts.key("carol", type="key-pair", scopes=["read"])
    wrong = pair["secret"][:-4] + "zzzz"
    r = await client.post("/auth", json={"api_key": pair["key"], "api_secret": wrong})
    assert r.status_code == 401
    [row] = await _failures(runtime, "/auth")
    assert row["scheme"] == "keypair" and row["client_ip"] == CLIENT_IP
    assert_no_secret(await audit_rows(runtime), wrong, pair["secret"])


async def test_login_throttle_lockout_is_audited_once_per_lockout(
    client: httpx2.AsyncClient, accounts: Accounts, runtime: Runtime
) -> None:
    await accounts.user("dave", password="the right password 1")
    guesses = [f"wrong guess number {i}" for i in range(6)]
    for guess in guesses:  # 3 free failures, then the lane waits: refused, audited once
        r = await client.get("/v1/whoami", auth=httpx2.BasicAuth("dave", guess))
        assert r.status_code == 401
    [row] = await audit_rows(runtime, "auth.lockout")
    assert row["outcome"] == "failure" and row["client_ip"] == CLIENT_IP
    assert row["detail"]["throttle"] == "login" and row["detail"]["account"] == "dave"
    assert row["detail"]["limit"] == "delay" and row["detail"]["retry_after"] > 0
    assert_no_secret(await audit_rows(runtime), "the right password 1", *guesses)
