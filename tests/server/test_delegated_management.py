"""Issue 8 item 1: a delegated OAuth token manages nothing without ``authgate:manage``.

Tokens come from the real authorization code flow (login, consent, PKCE, token
endpoint). A token issued to an OAuth client may not use the management API (keys,
clients, users and passwords, MFA, public keys, certificates) unless it holds
``authgate:manage``, which the client must be registered with, must ask for by name, and
the user must approve on a consent page shown every time, with a plain warning.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from tests._oauth_support import (
    PASSWORD,
    BrowserFlow,
    OAuthWorld,
    basic,
    bearer,
    browser,
    make_user,
    pkce_pair,
)

from authgate.runtime import LOCAL_ADMIN
from authgate.scopes import ADMIN_SCOPE, MANAGE_SCOPE

REDIRECT = "https://app.example/cb"
WARNING = "will be able to manage your credentials"


async def code_client(oauth: OAuthWorld, scopes: list[str], **kwargs: Any) -> str:
    kwargs.setdefault("public", True)
    c = await oauth.register(
        grants=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT],
        scopes=scopes,
        **kwargs,
    )
    return str(c["client_id"])


def params(client_id: str, challenge: str, scope: str | None) -> dict[str, str]:
    out = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if scope is not None:
        out["scope"] = scope
    return out


async def token_for(
    oauth: OAuthWorld, flow: BrowserFlow, client_id: str, scope: str | None, user: str
) -> dict[str, Any]:
    """Log ``user`` in, approve, redeem the code: the token response."""
    verifier, challenge = pkce_pair()
    got = await flow.code_for(params(client_id, challenge, scope), user=user)
    r = await oauth.token(
        {
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        }
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
async def flow(oauth: OAuthWorld) -> Any:
    b = browser(oauth)
    async with b.client:
        yield b


async def management_calls(
    c: httpx2.AsyncClient, headers: dict[str, str], user: str
) -> list[httpx2.Response]:
    return [
        await c.post("/v1/keys", json={"name": "esc"}, headers=headers),
        await c.get("/v1/keys", headers=headers),
        await c.post("/v1/keys/temporary", json={}, headers=headers),
        await c.post(
            "/v1/clients", json={"name": "c", "grants": ["client_credentials"]}, headers=headers
        ),
        await c.get("/v1/clients", headers=headers),
        await c.post("/v1/users", json={"name": "evil", "role": "admin"}, headers=headers),
        await c.put(
            f"/v1/users/{user}/password",
            json={"password": "another long passphrase 42", "current_password": PASSWORD},
            headers=headers,
        ),
        await c.post("/v1/mfa/totp", json={}, headers=headers),
        await c.delete("/v1/mfa/totp", headers=headers),
        await c.get("/v1/public-keys", headers=headers),
        await c.get("/v1/certificates", headers=headers),
    ]


@pytest.mark.parametrize("role", ["member", "admin"])
async def test_delegated_read_token_cannot_manage(
    oauth: OAuthWorld, flow: BrowserFlow, role: str
) -> None:
    await make_user(oauth, "alice", role=role, scopes=["read"])
    client_id = await code_client(oauth, ["read"])
    tokens = await token_for(oauth, flow, client_id, "read", "alice")
    headers = bearer(tokens["access_token"])
    assert (await oauth.client.get("/v1/whoami", headers=headers)).status_code == 200
    for r in await management_calls(oauth.client, headers, "alice"):
        assert r.status_code == 403, (r.request.method, r.request.url, r.text)
        assert r.json()["error"] == "insufficient_scope"
    # nothing was created on the user's behalf
    r = await oauth.client.get("/v1/keys", headers=basic_pw("alice"))
    assert r.status_code == 200 and r.json()["keys"] == [], r.text


def basic_pw(user: str) -> dict[str, str]:
    raw = f"{user}:{PASSWORD}".encode()
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


async def test_delegated_manage_token_manages_keys_within_its_scopes(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth, "alice", scopes=["read", "write", MANAGE_SCOPE])
    client_id = await code_client(oauth, ["read", MANAGE_SCOPE])
    tokens = await token_for(oauth, flow, client_id, f"read {MANAGE_SCOPE}", "alice")
    assert set(tokens["scope"].split()) == {"read", MANAGE_SCOPE}
    headers = bearer(tokens["access_token"])
    r = await oauth.client.post("/v1/keys", json={"scopes": ["read"]}, headers=headers)
    assert r.status_code == 201 and r.json()["scopes"] == ["read"]
    r = await oauth.client.post("/v1/keys", json={"scopes": ["write"]}, headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    r = await oauth.client.post("/v1/keys", json={}, headers=headers)
    assert r.status_code == 201 and "write" not in r.json()["scopes"]
    assert (await oauth.client.get("/v1/keys", headers=headers)).status_code == 200


async def test_delegated_admin_token_never_has_admin_power(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth, "root", role="admin", scopes=["read"])
    client_id = await code_client(oauth, ["read", MANAGE_SCOPE, ADMIN_SCOPE])
    tokens = await token_for(oauth, flow, client_id, f"read {MANAGE_SCOPE} {ADMIN_SCOPE}", "root")
    headers = bearer(tokens["access_token"])
    assert ADMIN_SCOPE in tokens["scope"].split()  # the scope, but not the role
    r = await oauth.client.post("/v1/users", json={"name": "evil"}, headers=headers)
    assert r.status_code == 403
    r = await oauth.client.post("/v1/keys", json={"scopes": ["read"]}, headers=headers)
    assert r.status_code == 201  # its own keys, within its scopes
    # it cannot launder the scope into an admin key
    r = await oauth.client.post("/v1/keys", json={"scopes": [ADMIN_SCOPE]}, headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "invalid_scope"
    r = await oauth.client.post("/v1/keys", json={}, headers=headers)
    assert r.status_code == 201 and ADMIN_SCOPE not in r.json()["scopes"]


async def test_consent_page_shown_for_manage_even_after_remembered_consent(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth, "alice", scopes=["read", MANAGE_SCOPE])
    client_id = await code_client(oauth, ["read", MANAGE_SCOPE], public=False)
    # a confidential client on a non-loopback URI: remembered consent would skip the page
    _, challenge = pkce_pair()
    await flow.code_for(params(client_id, challenge, "read"), user="alice")
    again = await flow.authorize(params(client_id, challenge, "read"))
    assert again.status_code == 302  # "read" alone: remembered, no page
    first = await flow.authorize(params(client_id, challenge, f"read {MANAGE_SCOPE}"))
    assert first.status_code == 200 and WARNING in first.text and MANAGE_SCOPE in first.text
    answer = await flow.submit(first, decision="allow")
    assert answer.status_code == 303 and "code=" in answer.headers["location"]
    second = await flow.authorize(params(client_id, challenge, f"read {MANAGE_SCOPE}"))
    assert second.status_code == 200 and WARNING in second.text  # asked every time
    silent = await flow.authorize(
        params(client_id, challenge, f"read {MANAGE_SCOPE}") | {"prompt": "none"}
    )
    assert silent.status_code == 302
    got = dict(parse_qsl(urlsplit(silent.headers["location"]).query))
    assert got["error"] == "consent_required"


async def test_manage_scope_never_granted_by_default(oauth: OAuthWorld, flow: BrowserFlow) -> None:
    await make_user(oauth, "alice", scopes=["read", MANAGE_SCOPE])
    client_id = await code_client(oauth, ["read", MANAGE_SCOPE])
    tokens = await token_for(oauth, flow, client_id, None, "alice")  # no scope parameter
    assert MANAGE_SCOPE not in tokens["scope"].split()
    r = await oauth.client.get("/v1/keys", headers=bearer(tokens["access_token"]))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    # client credentials: the same
    svc = await oauth.register(scopes=["read", MANAGE_SCOPE])
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(svc["client_id"], svc["client_secret"])
    )
    assert r.status_code == 200 and r.json()["scope"] == "read"


async def test_member_cannot_delegate_manage_without_holding_it(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    await make_user(oauth, "alice", scopes=["read"])
    client_id = await code_client(oauth, ["read", MANAGE_SCOPE])
    tokens = await token_for(oauth, flow, client_id, f"read {MANAGE_SCOPE}", "alice")
    assert tokens["scope"] == "read"
    r = await oauth.client.get("/v1/keys", headers=bearer(tokens["access_token"]))
    assert r.status_code == 403


async def test_key_exchange_token_still_manages(oauth: OAuthWorld) -> None:
    """``POST /auth`` tokens act with the user's own key pair: not delegated."""
    await make_user(oauth, "alice", scopes=["read"])
    pair = (await oauth.rt.keys.create(LOCAL_ADMIN, user="alice", type="key-pair")).as_json()
    r = await oauth.client.post(
        "/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]}
    )
    assert r.status_code == 200, r.text
    headers = bearer(r.json()["access_token"])
    r = await oauth.client.post("/v1/keys", json={}, headers=headers)
    assert r.status_code == 201 and r.json()["scopes"] == ["read"]
