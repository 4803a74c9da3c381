"""``/v1/mfa`` over HTTP (router mounted on the server's FastAPI app), SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pyotp
import pytest
from tests.conftest import Accounts
from tests.mfa.test_mfa_service import Clock, make_mfa

from authgate.config import Settings
from authgate.mfa import totp
from authgate.runtime import Runtime
from authgate.server import AuthgateServer


@pytest.fixture
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    server = AuthgateServer(settings, runtime)
    transport = httpx2.ASGITransport(app=server, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def people(accounts: Accounts) -> dict[str, dict[str, str]]:
    await accounts.user("root", role="admin")
    await accounts.user("alice")
    await accounts.user("bob")
    return {
        name: {"X-API-Key": (await accounts.key(name))["key"]} for name in ("root", "alice", "bob")
    }


def pending_code(secret_b32: str, used: set[str]) -> str:
    """A current code not used yet (pyotp as the authenticator app)."""
    app = pyotp.TOTP(secret_b32)
    for offset in (0, 30, -30):
        code = app.at(time.time() + offset)
        if code not in used:
            used.add(code)
            return code
    raise AssertionError("no unused code in the window")


async def test_enrol_confirm_verify_disable(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    alice = people["alice"]
    r = await client.post("/v1/mfa/totp", headers=alice)
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"factor_id", "secret", "otpauth_uri", "qr_svg", "qr_png"}
    peer = pyotp.parse_uri(body["otpauth_uri"])
    assert isinstance(peer, pyotp.TOTP) and peer.secret == body["secret"]
    assert parse_qs(urlsplit(body["otpauth_uri"]).query)["issuer"] == ["authgate"]
    assert body["qr_svg"].startswith("<svg")
    assert base64.b64decode(body["qr_png"])[:8] == b"\x89PNG\r\n\x1a\n"

    used: set[str] = set()
    r = await client.post(
        "/v1/mfa/totp/confirm", json={"code": pending_code(body["secret"], used)}, headers=alice
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and r.json()["enabled"] is True

    ok = await client.post(
        "/v1/mfa/totp/verify", json={"code": pending_code(body["secret"], used)}, headers=alice
    )
    assert ok.status_code == 200 and ok.json() == {"verified": True}

    # turning one's own factor off takes a second factor (tests/server/test_second_factor.py);
    # steps T and T+1 are spent, so here an unused recovery code
    r = await client.request("DELETE", "/v1/mfa/totp", json={"code": codes[0]}, headers=alice)
    assert r.status_code == 200 and r.json() == {"enabled": False}
    assert (await client.delete("/v1/mfa/totp", headers=alice)).status_code == 404


async def test_wrong_replayed_and_malformed_codes_get_the_same_401(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    alice = people["alice"]
    secret = (await client.post("/v1/mfa/totp", headers=alice)).json()["secret"]
    used: set[str] = set()
    await client.post(
        "/v1/mfa/totp/confirm", json={"code": pending_code(secret, used)}, headers=alice
    )
    good = pending_code(secret, used)
    assert (await client.post("/v1/mfa/totp/verify", json={"code": good}, headers=alice)).is_success
    answers = []
    for code in (good, "123", "abcdef", "١٢٣٤٥٦", "0" * 64):
        r = await client.post("/v1/mfa/totp/verify", json={"code": code}, headers=alice)
        answers.append((r.status_code, r.content))
    assert answers == [
        (401, b'{"error":"invalid_token","error_description":"The code is invalid."}')
    ] * len(answers)
    # not enrolled answers the same
    r = await client.post("/v1/mfa/totp/verify", json={"code": "123456"}, headers=people["bob"])
    assert (r.status_code, r.content) == answers[0]


async def test_secret_not_shown_again_and_not_in_audit(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]], runtime: Runtime
) -> None:
    alice = people["alice"]
    secret = (await client.post("/v1/mfa/totp", headers=alice)).json()["secret"]
    used: set[str] = set()
    codes = (
        await client.post(
            "/v1/mfa/totp/confirm", json={"code": pending_code(secret, used)}, headers=alice
        )
    ).json()["recovery_codes"]
    audit = await client.get("/v1/audit", headers=people["root"])
    assert audit.status_code == 200
    assert "mfa.enrolled" in audit.text and secret not in audit.text
    assert all(c not in audit.text for c in codes)
    again = await client.post("/v1/mfa/totp", headers=alice)
    assert again.status_code == 409 and secret not in again.text


async def test_member_cannot_manage_another_users_factor(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    await client.post("/v1/mfa/totp", headers=people["bob"])
    for method, path, body in [
        ("POST", "/v1/mfa/totp", {"user": "bob"}),
        ("POST", "/v1/mfa/totp/confirm", {"user": "bob", "code": "123456"}),
        ("DELETE", "/v1/mfa/totp?user=bob", None),
    ]:
        r = await client.request(method, path, json=body, headers=people["alice"])
        assert r.status_code == 404, (method, path, r.text)
    r = await client.delete("/v1/mfa/totp?user=bob", headers=people["root"])
    assert r.status_code == 200


async def test_requires_credentials_and_refuses_extra_fields(
    client: httpx2.AsyncClient, people: dict[str, dict[str, str]]
) -> None:
    assert (await client.post("/v1/mfa/totp")).status_code == 401
    r = await client.post(
        "/v1/mfa/totp/verify", json={"code": "1", "time": 0}, headers=people["alice"]
    )
    assert r.status_code == 400  # no client-supplied time, or anything else extra
    r = await client.post("/v1/mfa/totp/verify", json={"code": "1" * 65}, headers=people["alice"])
    assert r.status_code == 400


async def test_throttled_over_http_per_account_across_ips(
    settings: Settings, runtime: Runtime, people: dict[str, dict[str, str]]
) -> None:
    clock = Clock()
    server = AuthgateServer(settings, runtime)
    runtime.mfa = make_mfa(runtime, clock)  # the same service wiring, with a fake clock
    alice = people["alice"]

    async def post(path: str, json: dict[str, str], ip: str) -> httpx2.Response:
        transport = httpx2.ASGITransport(app=server, client=(ip, 50000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.post(path, json=json, headers=alice)

    secret_b32 = (await post("/v1/mfa/totp", {}, "192.0.2.10")).json()["secret"]
    secret = totp.b32_decode(secret_b32)
    assert (
        await post("/v1/mfa/totp/confirm", {"code": totp.totp(secret, clock.now)}, "192.0.2.10")
    ).is_success
    clock.now += 30
    right = {totp.totp(secret, clock.now + d) for d in (-30, 0, 30)}
    wrong = "000000" if "000000" not in right else "111111"
    for i in range(4):  # 3 free failures, then a delay — counted per account, any IP
        r = await post("/v1/mfa/totp/verify", {"code": wrong}, f"203.0.113.{i}")
        assert r.status_code == 401
    # during the delay a stranger's guess is not even checked, the right code included
    r = await post("/v1/mfa/totp/verify", {"code": totp.totp(secret, clock.now)}, "203.0.113.99")
    assert r.status_code == 401
    # the user's own (known) network has its own lane
    r = await post("/v1/mfa/totp/verify", {"code": totp.totp(secret, clock.now)}, "192.0.2.10")
    assert r.status_code == 200
