"""A user with a second factor cannot use the password alone anywhere (DESIGN.md), over HTTP.

Issue 8, item 6: HTTP Basic ``user:password`` of a user with a confirmed TOTP factor is
refused with a ``WWW-Authenticate`` error after the password verified (a wrong password
stays the uniform 401); ``key:secret`` of a key pair still works; turning TOTP off and
replacing the recovery codes need a current TOTP or an unused recovery code.
"""

from __future__ import annotations

import httpx2
import pytest
from tests._mfa_support import basic, enrol
from tests.conftest import Accounts

from authgate.runtime import Runtime

PASSWORD = "alice first password"
UNIFORM = {"error": "invalid_token", "error_description": "The credentials are invalid."}
MFA_ERROR = "insufficient_user_authentication"


@pytest.fixture
async def alice(accounts: Accounts) -> dict[str, str]:
    """Alice's API key header (she also has a password)."""
    await accounts.user("alice", password=PASSWORD, scopes=["read"])
    return {"X-API-Key": (await accounts.key("alice"))["key"]}


async def test_basic_password_refused_when_totp_confirmed(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    # before enrolment the password works (and is now in the verified-password caches)
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 200
    await enrol(client, alice)
    r = await client.get("/v1/whoami", headers=basic("alice", PASSWORD))
    assert r.status_code == 401
    assert r.json()["error"] == MFA_ERROR
    assert "API key" in r.json()["error_description"]
    assert "login page" in r.json()["error_description"]
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Basic realm="authgate", charset="UTF-8"')
    assert f'error="{MFA_ERROR}"' in challenge and "error_description=" in challenge
    # a wrong password stays the uniform 401: no oracle of enrolment without the password
    r = await client.get("/v1/whoami", headers=basic("alice", "not alices password"))
    assert (r.status_code, r.json()) == (401, UNIFORM)
    assert "error=" not in r.headers["www-authenticate"]
    # the password alone reaches no route: no key minted, no factor turned off
    r = await client.post("/v1/keys", json={}, headers=basic("alice", PASSWORD))
    assert r.status_code == 401 and r.json()["error"] == MFA_ERROR
    r = await client.delete("/v1/mfa/totp", headers=basic("alice", PASSWORD))
    assert r.status_code == 401 and r.json()["error"] == MFA_ERROR
    assert (await client.get("/v1/whoami", headers=alice)).status_code == 200


async def test_basic_key_secret_still_works_when_totp_confirmed(
    client: httpx2.AsyncClient, accounts: Accounts, alice: dict[str, str]
) -> None:
    pair = await accounts.key("alice", type="key-pair")
    await enrol(client, alice)
    r = await client.get("/v1/whoami", headers=basic(pair["key"], pair["secret"]))
    assert r.status_code == 200 and r.json()["credential_id"] == pair["id"]


async def test_basic_password_works_again_after_totp_turned_off(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    factor = await enrol(client, alice)
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 401
    r = await client.request(
        "DELETE", "/v1/mfa/totp", json={"code": factor.recovery_codes[0]}, headers=alice
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).status_code == 200


async def test_basic_password_of_totp_user_counts_as_failed_login(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    """Decision: a right password refused for its missing second factor is a failed login
    in the shared login throttle (as on the login page), not a success that would reset
    the counts and make the address a known source. After the throttle's 3 free failures
    and a 4th, the next attempt within a second is refused before any hashing: the
    uniform 401, without the second-factor error."""
    await enrol(client, alice)
    errors = [
        (await client.get("/v1/whoami", headers=basic("alice", PASSWORD))).json()["error"]
        for _ in range(4)
    ]
    assert errors == [MFA_ERROR] * 4
    r = await client.get("/v1/whoami", headers=basic("alice", PASSWORD))
    assert (r.status_code, r.json()) == (401, UNIFORM)


# -- turning TOTP off and replacing recovery codes need a second factor ----------------


async def delete_totp(
    client: httpx2.AsyncClient, headers: dict[str, str], body: object = None, query: str = ""
) -> httpx2.Response:
    return await client.request("DELETE", "/v1/mfa/totp" + query, json=body, headers=headers)


async def test_disable_totp_needs_a_current_code(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    factor = await enrol(client, alice)
    for body in (None, {}, {"code": ""}, {"code": "  "}):
        r = await delete_totp(client, alice, body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"] == "invalid_request"
        assert "TOTP code or an unused recovery code" in r.json()["error_description"]
    used = factor.code()
    r = await client.post("/v1/mfa/totp/verify", json={"code": used}, headers=alice)
    assert r.status_code == 200
    # a code already used (replay) or a wrong one: refused, the factor stays
    for code in (used, "000000" if used != "000000" else "111111", "wrong-recov"):
        r = await delete_totp(client, alice, {"code": code})
        assert r.status_code == 401 and r.json()["error_description"] == "The code is invalid."
    assert (await client.post("/v1/mfa/totp", headers=alice)).status_code == 409  # still on
    # (the confirmation and the check above spent steps T and T+1: a TOTP code of this
    # window is used up, so the right answer now is an unused recovery code)
    r = await delete_totp(client, alice, {"code": factor.recovery_codes[3]})
    assert r.status_code == 200 and r.json() == {"enabled": False}


async def test_disable_totp_with_a_current_totp_code(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    factor = await enrol(client, alice)
    r = await delete_totp(client, alice, {"code": factor.code()})
    assert r.status_code == 200 and r.json() == {"enabled": False}


async def test_disable_totp_with_recovery_code_once(
    client: httpx2.AsyncClient, accounts: Accounts, alice: dict[str, str]
) -> None:
    factor = await enrol(client, alice)
    spent = factor.recovery_codes[0]
    r = await client.post(
        "/v1/mfa/totp/recovery-codes", json={"code": spent}, headers=alice
    )  # spends the recovery code (and replaces the whole set)
    assert r.status_code == 200, r.text
    assert (await delete_totp(client, alice, {"code": spent})).status_code == 401
    fresh = r.json()["recovery_codes"][0]
    assert (await delete_totp(client, alice, {"code": fresh})).status_code == 200


async def test_replace_recovery_codes_needs_a_current_code(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    url = "/v1/mfa/totp/recovery-codes"
    r = await client.post(url, headers=alice)
    assert r.status_code == 400  # the body with its code is required
    r = await client.post(url, json={}, headers=alice)
    assert r.status_code == 400 and "code" in r.json()["error_description"]
    assert (await client.post(url, json={"code": "123456"}, headers=alice)).status_code == 404
    factor = await enrol(client, alice)
    used = factor.code()
    assert (
        await client.post("/v1/mfa/totp/verify", json={"code": used}, headers=alice)
    ).status_code == 200
    r = await client.post(url, json={"code": used}, headers=alice)  # replayed
    assert r.status_code == 401
    r = await client.post(url, json={"code": factor.recovery_codes[0]}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    new = r.json()["recovery_codes"]
    assert len(new) == 10 and set(new).isdisjoint(factor.recovery_codes)
    # the old set is gone: an old, unused code no longer turns anything off
    assert (await delete_totp(client, alice, {"code": factor.recovery_codes[1]})).status_code == 401
    assert (await delete_totp(client, alice, {"code": new[0]})).status_code == 200


async def test_admin_removes_another_users_factor_without_their_code(
    client: httpx2.AsyncClient, accounts: Accounts, alice: dict[str, str]
) -> None:
    await accounts.user("bob")
    bob = {"X-API-Key": (await accounts.key("bob"))["key"]}
    await accounts.user("root", role="admin")
    root = {"X-API-Key": (await accounts.key("root"))["key"]}
    await enrol(client, alice)
    # a member cannot touch anyone else's factor, code or not (404 as for a missing user)
    assert (await delete_totp(client, bob, query="?user=alice")).status_code == 404
    r = await client.post("/v1/mfa/totp/recovery-codes", json={"code": "123456"}, headers=bob)
    assert r.status_code == 404  # bob has no factor; there is no `user` to name
    # an admin resets a lost device: no code of the user's is needed
    r = await delete_totp(client, root, query="?user=alice")
    assert r.status_code == 200 and r.json() == {"enabled": False}


async def test_openapi_declares_the_code_of_disable_and_recovery_codes(
    client: httpx2.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    delete = doc["paths"]["/v1/mfa/totp"]["delete"]
    ref = delete["requestBody"]["content"]["application/json"]["schema"]
    names = [s["$ref"].rsplit("/", 1)[1] for s in ref.get("anyOf", [ref]) if "$ref" in s]
    assert "code" in schemas[names[0]]["properties"]
    post = doc["paths"]["/v1/mfa/totp/recovery-codes"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]
    assert schemas[ref["$ref"].rsplit("/", 1)[1]]["required"] == ["code"]
    put = doc["paths"]["/v1/users/{name}/password"]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]
    assert "code" in schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]


async def test_password_change_of_totp_user_needs_the_code(
    client: httpx2.AsyncClient, runtime: Runtime, alice: dict[str, str]
) -> None:
    factor = await enrol(client, alice)
    url = "/v1/users/alice/password"
    body = {"password": "alices new password", "current_password": PASSWORD}
    r = await client.put(url, json=body, headers=alice)
    assert r.status_code == 401  # the current password alone is not enough
    r = await client.put(url, json={**body, "code": factor.recovery_codes[0]}, headers=alice)
    assert r.status_code == 204, r.text


async def test_a_user_with_a_second_factor_cannot_use_the_password_alone_anywhere(
    client: httpx2.AsyncClient, alice: dict[str, str]
) -> None:
    """DESIGN.md invariant: no route takes the password of a TOTP user on its own."""
    factor = await enrol(client, alice)
    password_only = basic("alice", PASSWORD)
    for method, path, body in [
        ("GET", "/v1/whoami", None),
        ("GET", "/v1/keys", None),
        ("POST", "/v1/keys", {}),
        ("POST", "/v1/keys", {"type": "key-pair"}),
        ("POST", "/v1/keys/temporary", {}),
        ("GET", "/v1/users/alice", None),
        ("PUT", "/v1/users/alice/password", {"password": "x" * 20, "current_password": PASSWORD}),
        ("POST", "/v1/mfa/totp/verify", {"code": factor.code()}),
        ("POST", "/v1/mfa/totp/recovery-codes", {"code": factor.recovery_codes[0]}),
        ("DELETE", "/v1/mfa/totp", {"code": factor.recovery_codes[1]}),
        ("POST", "/auth/refresh", {"refresh_token": "agr_x"}),
    ]:
        r = await client.request(method, path, json=body, headers=password_only)
        # the second-factor error, or — once the login throttle counts these attempts as
        # the failed logins they are — the uniform 401 without any check
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"] in (MFA_ERROR, "invalid_token"), (method, path, r.text)
    # with another credential, the password still needs its code to change the password
    body = {"password": "alices new password", "current_password": PASSWORD}
    r = await client.put("/v1/users/alice/password", json=body, headers=alice)
    assert r.status_code == 401
    # nothing above spent a recovery code or turned anything off
    r = await delete_totp(client, alice, {"code": factor.recovery_codes[1]})
    assert r.status_code == 200
