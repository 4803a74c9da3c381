"""The device authorization grant (RFC 8628) through the real server: a CLI asks for a
code, the user signs in on the verification page and approves, the CLI polls for tokens."""

from __future__ import annotations

from typing import Any

import pytest
from tests._oauth_support import BrowserFlow, OAuthWorld, basic, bearer, browser, make_user

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
async def flow(oauth: OAuthWorld) -> Any:
    b = browser(oauth)
    async with b.client:
        yield b


async def start(oauth: OAuthWorld, client_id: str, **form: str) -> dict[str, Any]:
    r = await oauth.client.post("/oauth/device_authorization", data={"client_id": client_id} | form)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


async def poll(oauth: OAuthWorld, client_id: str, device_code: str) -> Any:
    return await oauth.token(
        {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
    )


async def approve(flow: BrowserFlow, started: dict[str, Any], decision: str = "allow") -> str:
    page = await flow.client.get(started["verification_uri_complete"])
    page = await flow.follow(await flow.login(page))
    assert started["user_code"] in page.text  # prefilled from verification_uri_complete
    confirm = await flow.submit(page, user_code=started["user_code"])
    assert confirm.status_code == 200 and "decision" in confirm.text
    done = await flow.submit(confirm, decision=decision)
    assert done.status_code == 200, done.text
    return done.text


async def test_device_flow_end_to_end(oauth: OAuthWorld, flow: BrowserFlow) -> None:
    await make_user(oauth)
    c = await oauth.register(
        public=True, grants=["device_code", "refresh_token"], scopes=["read", "write"]
    )
    started = await start(oauth, c["client_id"], scope="read")
    assert started["verification_uri"] == oauth.issuer + "/oauth/device"
    assert started["expires_in"] == 600 and started["interval"] == 5
    pending = await poll(oauth, c["client_id"], started["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    assert "connected" in await approve(flow, started)
    oauth.rt.oauth.device._clock = lambda: __import__("time").time() + 6  # past the interval
    r = await poll(oauth, c["client_id"], started["device_code"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "read" and body["refresh_token"]
    who = await oauth.client.get("/v1/whoami", headers=bearer(body["access_token"]))
    assert who.status_code == 200 and who.json()["subject"] == "alice"
    again = await poll(oauth, c["client_id"], started["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_device_denied_and_confidential_client_with_basic(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth)
    c = await oauth.register(grants=["device_code"], scopes=["read"])
    r = await oauth.client.post(
        "/oauth/device_authorization",
        data={"scope": "read"},
        headers=basic(c["client_id"], c["client_secret"]),
    )
    assert r.status_code == 200, r.text
    started = r.json()
    assert "not connected" in await approve(flow, started, "deny")
    oauth.rt.oauth.device._clock = lambda: __import__("time").time() + 6
    r = await oauth.token(
        {"grant_type": DEVICE_GRANT, "device_code": started["device_code"]},
        headers=basic(c["client_id"], c["client_secret"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "access_denied"


async def test_device_page_needs_login_refuses_wrong_codes_and_foreign_confirmations(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth)
    await make_user(oauth, "mallory")
    c = await oauth.register(public=True, grants=["device_code"], scopes=["read"])
    started = await start(oauth, c["client_id"])
    page = await flow.client.get("/oauth/device")
    assert "name=password" in page.text  # sign in first
    page = await flow.follow(await flow.login(page))
    wrong = await flow.submit(page, user_code="BCDF-GHJK")
    assert wrong.status_code == 401 and "not valid" in wrong.text
    confirm = await flow.submit(wrong, user_code=started["user_code"].lower().replace("-", " "))
    assert confirm.status_code == 200 and "read" in confirm.text
    # mallory cannot post alice's confirmation from her session
    other = browser(oauth)
    async with other.client:
        login = await other.client.get("/oauth/device")
        await other.login(login, "mallory")
        from tests._oauth_support import form_of

        _, hidden = form_of(confirm.text)
        r = await other.client.post("/oauth/device/confirm", data=hidden | {"decision": "allow"})
        assert r.status_code == 400
    r = await poll(oauth, c["client_id"], started["device_code"])
    assert r.json()["error"] == "authorization_pending"


async def test_device_authorization_refuses_clients_without_the_grant(oauth: OAuthWorld) -> None:
    c = await oauth.register(
        public=True, grants=["authorization_code"], redirect_uris=["https://a.example/cb"]
    )
    r = await oauth.client.post("/oauth/device_authorization", data={"client_id": c["client_id"]})
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    r = await oauth.client.post("/oauth/device_authorization", data={"client_id": "agc_nobody"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_device_pages_send_the_page_headers_and_audit_wrong_codes(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    from sqlalchemy import select

    from authgate.store.models import AuditEvent

    await make_user(oauth)
    page = await flow.client.get("/oauth/device")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    page = await flow.follow(await flow.login(page))
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    wrong = await flow.submit(page, user_code="BCDF-GHJK")
    assert wrong.status_code == 401
    assert "frame-ancestors 'none'" in wrong.headers["content-security-policy"]
    async with oauth.rt.db.session() as s:
        events = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.event == "oauth.device_code_failed")
            )
        ).all()
    assert len(events) == 1 and events[0].actor == "alice"
