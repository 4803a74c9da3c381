"""POST /auth, POST /auth/refresh, GET /.well-known/jwks.json and /v1/whoami with our
access tokens, through the real server (SQLite and PostgreSQL); PyJWT's PyJWKClient
fetches our JWKS from a real uvicorn; hypothesis fuzzes /auth bodies."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._oauth_support import live_server
from tests._tokens_support import ISSUER, open_services
from tests.conftest import Accounts

from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.schemes.chain import SchemeChain
from authgate.schemes.own_tokens import own_token_authenticator
from authgate.server import AuthgateServer
from authgate.tokens.services import TokenServices

TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token"}
UNIFORM_401 = {"error": "invalid_token", "error_description": "The credentials are invalid."}


@dataclass
class World:
    rt: Runtime
    server: AuthgateServer
    client: httpx2.AsyncClient
    services: TokenServices
    pair: dict[str, Any]
    accounts: Accounts


def wire(settings: Settings, runtime: Runtime, services: TokenServices) -> AuthgateServer:
    """What the lead moves into Runtime/build_schemes/create_api (see docs/tokens.md)."""
    own = own_token_authenticator(services, settings.issuers)
    schemes = [s for s in runtime.chain.schemes if s.name != "bearer"] + [own]
    runtime.chain = SchemeChain(schemes, extra_credential_headers=[settings.api_key_header])
    runtime.tokens = services
    return AuthgateServer(settings, runtime)


@pytest.fixture
async def world(settings: Settings, runtime: Runtime, accounts: Accounts) -> AsyncIterator[World]:
    await accounts.user("alice", scopes=["read", "write"])
    pair = await accounts.key("alice", type="key-pair", scopes=["read"])
    services = await open_services(runtime)
    server = wire(settings, runtime, services)
    transport = httpx2.ASGITransport(app=server, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield World(runtime, server, client, services, pair, accounts)


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def auth(w: World) -> dict[str, Any]:
    r = await w.client.post(
        "/auth", json={"api_key": w.pair["key"], "api_secret": w.pair["secret"]}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def check_token_response(r: httpx2.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["refresh_token"].startswith("agr_")
    assert r.headers["cache-control"] == "no-store"
    return body


async def test_auth_with_json_body_has_the_contract_shape(world: World) -> None:
    r = await world.client.post(
        "/auth", json={"api_key": world.pair["key"], "api_secret": world.pair["secret"]}
    )
    body = check_token_response(r)
    assert body["access_token"].count(".") == 2


async def test_auth_with_basic_has_the_contract_shape(world: World) -> None:
    r = await world.client.post("/auth", headers=basic(world.pair["key"], world.pair["secret"]))
    check_token_response(r)


async def test_whoami_with_our_token_matches_the_key_pair(world: World) -> None:
    tokens = await auth(world)
    via_token = await world.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    via_pair = await world.client.get(
        "/v1/whoami", headers=basic(world.pair["key"], world.pair["secret"])
    )
    assert via_token.status_code == 200 and via_pair.status_code == 200
    a, b = via_token.json(), via_pair.json()
    assert a["scheme"] == "bearer" and b["scheme"] == "basic"
    assert a["credential_id"] == world.pair["id"]
    for field in ("subject", "principal_id", "credential_id", "scopes", "roles"):
        assert a[field] == b[field]
    assert a["subject"] == "alice" and a["scopes"] == ["read"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == a["principal_id"] and claims["preferred_username"] == "alice"


async def test_credential_failures_are_one_uniform_401(world: World) -> None:
    api_key = await world.accounts.key("alice")
    revoked = await world.accounts.key("alice", type="key-pair")
    await world.rt.keys.revoke(LOCAL_ADMIN, revoked["id"])
    other = await world.accounts.key("alice", type="key-pair")
    cases = [
        {"api_key": other["key"][:-6] + "AAAAAA", "api_secret": world.pair["secret"]},  # garbage
        {"api_key": other["key"].replace(other["key"][5:12], "0000000"), "api_secret": "x"},
        {"api_key": world.pair["key"], "api_secret": world.pair["secret"] + "x"},  # wrong
        {"api_key": world.pair["key"], "api_secret": other["secret"]},  # another pair's secret
        {"api_key": api_key["key"], "api_secret": "whatever"},  # an API key is not a pair
        {"api_key": revoked["key"], "api_secret": revoked["secret"]},  # revoked
        {"api_key": "alice", "api_secret": "password"},
        {"api_key": world.pair["key"], "api_secret": "sécret"},  # non-ASCII: 401, not 500
    ]
    for body in cases:
        r = await world.client.post("/auth", json=body)
        assert (r.status_code, r.json()) == (401, UNIFORM_401), body
    # Basic with a wrong secret: the chain refuses it with the same body
    r = await world.client.post("/auth", headers=basic(world.pair["key"], "nope"))
    assert (r.status_code, r.json()) == (401, UNIFORM_401)


async def test_malformed_requests_are_400_or_401(world: World) -> None:
    c = world.client
    both = {"api_key": world.pair["key"], "api_secret": world.pair["secret"]}
    hdrs = basic(world.pair["key"], world.pair["secret"])
    assert (await c.post("/auth", json=both, headers=hdrs)).status_code == 400
    assert (await c.post("/auth", content=b"{not json")).status_code == 400
    assert (await c.post("/auth", json=["a"])).status_code == 400
    assert (await c.post("/auth", json={"api_key": world.pair["key"]})).status_code == 400
    assert (await c.post("/auth", json={"api_key": 1, "api_secret": "x"})).status_code == 400
    missing = await c.post("/auth")
    assert missing.status_code == 401 and "Basic" in missing.headers["www-authenticate"]
    assert (await c.post("/auth/refresh", json={})).status_code == 400


async def test_refresh_rotates_and_replay_kills_the_family(world: World) -> None:
    c = world.client
    first = await auth(world)
    r = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    second = check_token_response(r)
    assert second["refresh_token"] != first["refresh_token"]
    ok = await c.get("/v1/whoami", headers=bearer(second["access_token"]))
    assert ok.status_code == 200 and ok.json()["subject"] == "alice"

    replay = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert (replay.status_code, replay.json()) == (401, UNIFORM_401)
    for token in (first["access_token"], second["access_token"]):
        dead = await c.get("/v1/whoami", headers=bearer(token))
        assert (dead.status_code, dead.json()) == (401, UNIFORM_401)
    gone = await c.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert gone.status_code == 401


async def test_refresh_refuses_wider_scope_and_other_clients(world: World) -> None:
    c = world.client
    tokens = await auth(world)
    wider = await c.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"], "scope": "read write"}
    )
    assert wider.status_code == 403 and wider.json()["error"] == "invalid_scope"
    other = await world.accounts.key("alice", type="key-pair", scopes=["read"])
    foreign = await c.post(
        "/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers=basic(other["key"], other["secret"]),
    )
    assert (foreign.status_code, foreign.json()) == (401, UNIFORM_401)
    own = await c.post(
        "/auth/refresh",
        json={"refresh_token": tokens["refresh_token"], "scope": "read"},
        headers=basic(world.pair["key"], world.pair["secret"]),
    )
    check_token_response(own)


async def test_jwks_is_public_cacheable_and_has_no_private_members(world: World) -> None:
    r = await world.client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    keys = r.json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "EdDSA", "RS256"]
    for k in keys:
        assert k["use"] == "sig" and k["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k)
    assert world.services.config.jwks_max_age < world.services.config.publish_delay


async def test_pyjwkclient_verifies_our_tokens_from_a_real_server(world: World) -> None:
    async with live_server(world.server) as base:
        async with httpx2.AsyncClient(base_url=base) as real:
            body = {"api_key": world.pair["key"], "api_secret": world.pair["secret"]}
            tokens = (await real.post("/auth", json=body)).json()
        url = f"{base}/.well-known/jwks.json"

        def verify(token: str) -> dict[str, Any]:
            client = jwt.PyJWKClient(url, cache_keys=True)
            key = client.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["EdDSA", "ES256", "RS256"], audience=ISSUER, issuer=ISSUER
            )
            return claims

        claims = await asyncio.to_thread(verify, tokens["access_token"])
        assert claims["client_id"] == world.pair["id"] and claims["scope"] == "read"
        # an RS256 token (the OIDC algorithm) from the same JWKS verifies too
        rs = world.services.signing.ring.sign(
            claims, algorithm="RS256", now=world.services.signing.now()
        )
        assert (await asyncio.to_thread(verify, rs))["jti"] == claims["jti"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["api_key", "api_secret", "refresh_token", "scope", "x"]),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=8,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    path=st.sampled_from(["/auth", "/auth/refresh"]),
)
async def test_fuzzed_bodies_get_4xx_only(world: World, body: bytes, path: str) -> None:
    r = await world.client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
