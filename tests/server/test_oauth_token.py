"""/oauth/token for machine-to-machine clients, through the real server (SQLite and
PostgreSQL): client_credentials with every client authentication method, refresh with
rotation and family reuse detection, real clients (Authlib, requests-oauthlib on a real
uvicorn, PyJWT from our JWKS), /v1/whoami, and the SECURITY.md OAuth lines in scope."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx2
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._oauth_support import OAuthWorld, basic, bearer, live_server

from authgate.runtime import LOCAL_ADMIN

TOKEN_KEYS = ["access_token", "token_type", "expires_in", "scope"]


def ok_token(r: httpx2.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    body: dict[str, Any] = r.json()
    assert body["token_type"] == "Bearer"
    return body


def error(r: httpx2.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert r.headers["cache-control"] == "no-store"


async def test_client_credentials_with_basic_issues_an_rfc9068_jwt(oauth: OAuthWorld) -> None:
    c = await oauth.register(scopes=["read", "write"])
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(c["client_id"], c["client_secret"])
    )
    body = ok_token(r)
    assert list(body) == TOKEN_KEYS and "refresh_token" not in body  # RFC 6749 §4.4.3
    assert body["scope"] == "read write" and body["expires_in"] == 3600
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == c["client_id"]
    assert claims["iss"] == oauth.issuer and claims["scope"] == "read write"
    who = await oauth.client.get("/v1/whoami", headers=bearer(body["access_token"]))
    assert who.status_code == 200, who.text
    assert who.json()["subject"] == c["client_id"] and who.json()["scopes"] == ["read", "write"]


async def test_client_credentials_with_post_and_narrower_scope(oauth: OAuthWorld) -> None:
    c = await oauth.register(token_endpoint_auth_method="client_secret_post")
    form = {
        "grant_type": "client_credentials",
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "scope": "read",
    }
    assert ok_token(await oauth.token(form))["scope"] == "read"
    # registered for client_secret_post: Basic is another method, refused
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(c["client_id"], c["client_secret"])
    )
    error(r, 401, "invalid_client")


async def test_basic_credentials_are_form_urlencoded_inside_basic(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    import base64

    raw = base64.b64encode(f"{c['client_id']}:{c['client_secret']}".encode()).decode()
    # no special characters in our ids/secrets: raw and encoded forms are equal, and an
    # encoded secret with a '+' that decodes to ' ' must not match
    ok_token(
        await oauth.token(
            {"grant_type": "client_credentials"}, headers={"authorization": f"Basic {raw}"}
        )
    )
    wrong = base64.b64encode(f"{c['client_id']}:{c['client_secret']}+".encode()).decode()
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers={"authorization": f"Basic {wrong}"}
    )
    error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_wrong_unknown_and_deleted_clients_get_the_same_invalid_client(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    form = {"grant_type": "client_credentials"}
    bad = [
        basic(
            c["client_id"],
            c["client_secret"][:-1] + ("x" if c["client_secret"][-1] != "x" else "y"),
        ),
        basic("agc_unknown", c["client_secret"]),
    ]
    await oauth.rt.oauth.clients.delete(LOCAL_ADMIN, c["client_id"])
    bad.append(basic(c["client_id"], c["client_secret"]))
    bodies = set()
    for headers in bad:
        r = await oauth.token(form, headers=headers)
        error(r, 401, "invalid_client")
        assert r.headers["www-authenticate"].startswith("Basic realm=")
        bodies.add(r.text)
    assert len(bodies) == 1
    # without any client credentials
    error(await oauth.token(form), 401, "invalid_client")


async def test_rotated_secret_replaces_the_old_one_at_once(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    form = {"grant_type": "client_credentials"}
    ok_token(
        await oauth.token(form, headers=basic(c["client_id"], c["client_secret"]))
    )  # cached now
    rotated = (await oauth.rt.oauth.clients.rotate_secret(LOCAL_ADMIN, c["client_id"])).as_json()
    assert rotated["client_secret"] != c["client_secret"]
    error(
        await oauth.token(form, headers=basic(c["client_id"], c["client_secret"])),
        401,
        "invalid_client",
    )
    ok_token(await oauth.token(form, headers=basic(c["client_id"], rotated["client_secret"])))


async def test_two_authentication_methods_are_invalid_request(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    form = {
        "grant_type": "client_credentials",
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
    }
    r = await oauth.token(form, headers=basic(c["client_id"], c["client_secret"]))
    error(r, 400, "invalid_request")


async def test_security_grant_type_password_is_refused(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    form = {"grant_type": "password", "username": "admin", "password": "x" * 12}
    r = await oauth.token(form, headers=basic(c["client_id"], c["client_secret"]))
    error(r, 400, "unsupported_grant_type")
    meta = (await oauth.client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" not in meta["grant_types_supported"]


@pytest.mark.parametrize(
    "grant",
    ["implicit", "nope"],
)
async def test_unimplemented_and_unknown_grants_are_unsupported(
    oauth: OAuthWorld, grant: str
) -> None:
    c = await oauth.register()
    r = await oauth.token({"grant_type": grant}, headers=basic(c["client_id"], c["client_secret"]))
    error(r, 400, "unsupported_grant_type")


async def test_security_wider_scope_than_the_client_holds_is_rejected(oauth: OAuthWorld) -> None:
    c = await oauth.register(scopes=["read"])
    r = await oauth.token(
        {"grant_type": "client_credentials", "scope": "read admin"},
        headers=basic(c["client_id"], c["client_secret"]),
    )
    error(r, 400, "invalid_scope")


async def test_grant_not_registered_for_the_client_is_unauthorized_client(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register(grants=["refresh_token"])
    r = await oauth.token(
        {"grant_type": "client_credentials"}, headers=basic(c["client_id"], c["client_secret"])
    )
    error(r, 400, "unauthorized_client")


async def test_duplicated_parameters_query_parameters_and_json_bodies_are_refused(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    h = basic(c["client_id"], c["client_secret"])
    dup = await oauth.client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={**h, "content-type": "application/x-www-form-urlencoded"},
    )
    error(dup, 400, "invalid_request")
    query = await oauth.client.post(
        "/oauth/token?grant_type=client_credentials", data={"x": "1"}, headers=h
    )
    error(query, 400, "invalid_request")
    as_json = await oauth.client.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, headers=h
    )
    error(as_json, 400, "invalid_request")
    assert (await oauth.client.get("/oauth/token")).status_code == 405


# -- refresh ------------------------------------------------------------------------------


async def refresh_family(oauth: OAuthWorld, client_id: str, scopes: list[str]) -> str:
    """A refresh token bound to ``client_id`` for user alice (as the authorization-code
    grant will issue them; client_credentials issues none, RFC 6749 §4.4.3)."""
    user = await oauth.rt.users.create(
        LOCAL_ADMIN, "alice", role="member", scopes=["read", "write"]
    )
    issued = await oauth.rt.tokens.refresh.issue(
        user_id=user.id, client_id=client_id, scopes=scopes
    )
    return issued.token


async def test_refresh_rotates_and_reuse_revokes_the_family(oauth: OAuthWorld) -> None:
    c = await oauth.register(grants=["refresh_token"])
    h = basic(c["client_id"], c["client_secret"])
    first = await refresh_family(oauth, c["client_id"], ["read", "write"])
    r1 = ok_token(
        await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h)
    )
    assert r1["refresh_token"] != first and r1["scope"] == "read write"
    who = await oauth.client.get("/v1/whoami", headers=bearer(r1["access_token"]))
    assert who.status_code == 200 and who.json()["subject"] == "alice"
    # replay of the rotated token: invalid_grant, and the whole family dies
    error(
        await oauth.token({"grant_type": "refresh_token", "refresh_token": first}, headers=h),
        400,
        "invalid_grant",
    )
    error(
        await oauth.token(
            {"grant_type": "refresh_token", "refresh_token": r1["refresh_token"]}, headers=h
        ),
        400,
        "invalid_grant",
    )
    dead = await oauth.client.get("/v1/whoami", headers=bearer(r1["access_token"]))
    assert dead.status_code == 401


async def test_security_refresh_token_of_another_client_is_rejected(oauth: OAuthWorld) -> None:
    mine = await oauth.register(grants=["refresh_token"], name="mine")
    other = await oauth.register(grants=["refresh_token"], name="other")
    token = await refresh_family(oauth, mine["client_id"], ["read"])
    r = await oauth.token(
        {"grant_type": "refresh_token", "refresh_token": token},
        headers=basic(other["client_id"], other["client_secret"]),
    )
    error(r, 400, "invalid_grant")
    ok_token(
        await oauth.token(
            {"grant_type": "refresh_token", "refresh_token": token},
            headers=basic(mine["client_id"], mine["client_secret"]),
        )
    )


async def test_security_refresh_with_wider_scope_is_rejected(oauth: OAuthWorld) -> None:
    c = await oauth.register(grants=["refresh_token"])
    h = basic(c["client_id"], c["client_secret"])
    token = await refresh_family(oauth, c["client_id"], ["read"])
    error(
        await oauth.token(
            {"grant_type": "refresh_token", "refresh_token": token, "scope": "read write"},
            headers=h,
        ),
        400,
        "invalid_scope",
    )
    narrowed = ok_token(
        await oauth.token(
            {"grant_type": "refresh_token", "refresh_token": token, "scope": "read"}, headers=h
        )
    )
    assert narrowed["scope"] == "read"


async def test_public_client_refreshes_with_client_id_only(oauth: OAuthWorld) -> None:
    c = await oauth.register(grants=["refresh_token"], public=True, scopes=["read"])
    assert "client_secret" not in c
    token = await refresh_family(oauth, c["client_id"], ["read"])
    body = ok_token(
        await oauth.token(
            {"grant_type": "refresh_token", "refresh_token": token, "client_id": c["client_id"]}
        )
    )
    assert body["refresh_token"].startswith("agr_")
    # a public client can never use client_credentials
    error(
        await oauth.token({"grant_type": "client_credentials", "client_id": c["client_id"]}),
        400,
        "unauthorized_client",
    )


# -- real clients -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_credentials(oauth: OAuthWorld, method: str) -> None:
    c = await oauth.register(token_endpoint_auth_method=method, scopes=["read"])
    transport = httpx2.ASGITransport(app=oauth.server)
    async with AsyncOAuth2Client(
        c["client_id"],
        c["client_secret"],
        scope="read",
        token_endpoint_auth_method=method,
        transport=transport,
        base_url=oauth.issuer,
    ) as client:
        token = await client.fetch_token(
            oauth.issuer + "/oauth/token", grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer" and token["scope"] == "read"
        who = await client.get("/v1/whoami")
        assert who.status_code == 200 and who.json()["subject"] == c["client_id"]


async def test_authlib_refresh(oauth: OAuthWorld) -> None:
    c = await oauth.register(grants=["refresh_token"], scopes=["read"])
    first = await refresh_family(oauth, c["client_id"], ["read"])
    transport = httpx2.ASGITransport(app=oauth.server)
    async with AsyncOAuth2Client(
        c["client_id"], c["client_secret"], transport=transport, base_url=oauth.issuer
    ) as client:
        token = await client.refresh_token(oauth.issuer + "/oauth/token", refresh_token=first)
        assert token["refresh_token"] != first and token["scope"] == "read"
        who = await client.get("/v1/whoami")
        assert who.status_code == 200 and who.json()["subject"] == "alice"


async def test_requests_oauthlib_backend_client_and_pyjwt_jwks_on_a_real_server(
    oauth: OAuthWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1 only
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    c = await oauth.register(scopes=["read", "write"])
    async with live_server(oauth.server) as base:

        def fetch() -> dict[str, Any]:
            session = OAuth2Session(client=BackendApplicationClient(client_id=c["client_id"]))
            token: dict[str, Any] = session.fetch_token(
                token_url=base + "/oauth/token",
                client_id=c["client_id"],
                client_secret=c["client_secret"],
                scope=["read"],
            )
            return token

        token = await asyncio.to_thread(fetch)
        assert token["scope"] == ["read"] and token["token_type"] == "Bearer"

        def verify() -> dict[str, Any]:
            key = jwt.PyJWKClient(base + "/.well-known/jwks.json").get_signing_key_from_jwt(
                token["access_token"]
            )
            claims: dict[str, Any] = jwt.decode(
                token["access_token"],
                key,
                algorithms=["EdDSA", "ES256", "RS256"],
                audience=oauth.issuer,
                issuer=oauth.issuer,
            )
            return claims

        claims = await asyncio.to_thread(verify)
        assert claims["client_id"] == c["client_id"] and claims["scope"] == "read"
        assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]


# -- fuzz ---------------------------------------------------------------------------------

_NAMES = [
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "refresh_token",
    "client_assertion",
    "client_assertion_type",
    "code",
    "x",
]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.tuples(
                st.sampled_from(_NAMES),
                st.one_of(
                    st.text(max_size=40),
                    st.sampled_from(["client_credentials", "refresh_token", "password", "agr_x"]),
                ),
            ),
            max_size=6,
        ).map(
            lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        ),
    ),
    auth=st.one_of(
        st.none(),
        st.text(max_size=60),
        st.sampled_from(["Basic", "Basic !!!", "Basic Og==", "Bearer x"]),
    ),
    path=st.sampled_from(["/oauth/token", "/oauth/introspect", "/oauth/revoke"]),
)
async def test_fuzzed_form_bodies_get_4xx_only(
    oauth: OAuthWorld, body: bytes, auth: str | None, path: str
) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if auth is not None and auth.isascii() and auth.isprintable():
        headers["authorization"] = auth
    r = await oauth.client.post(path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
    json.loads(r.text)
    assert time.time() > 0
