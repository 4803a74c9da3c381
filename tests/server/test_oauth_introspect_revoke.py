"""/oauth/introspect (RFC 7662), /oauth/revoke (RFC 7009), metadata (RFC 8414, OIDC
discovery), private_key_jwt (RFC 7523) and the /v1/clients admin API, on the real server."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from tests._oauth_support import OAuthWorld, basic, bearer
from tests.conftest import Accounts

from authgate.runtime import LOCAL_ADMIN

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def cc_token(oauth: OAuthWorld, c: dict[str, Any], scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    r = await oauth.token(form, headers=basic(c["client_id"], c["client_secret"]))
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def introspect(oauth: OAuthWorld, rs: dict[str, Any], token: str) -> dict[str, Any]:
    r = await oauth.client.post(
        "/oauth/introspect",
        data={"token": token},
        headers=basic(rs["client_id"], rs["client_secret"]),
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


async def test_introspection_of_active_access_tokens(oauth: OAuthWorld) -> None:
    rs = await oauth.register(name="resource-server")
    c = await oauth.register(scopes=["read"])
    body = await introspect(oauth, rs, await cc_token(oauth, c))
    assert body["active"] is True and body["token_type"] == "Bearer"
    assert body["client_id"] == body["sub"] == c["client_id"]
    assert body["scope"] == "read" and body["iss"] == oauth.issuer
    assert body["exp"] - body["iat"] == 3600 and body["exp"] > time.time()


async def test_introspection_inactive_for_revoked_garbage_and_foreign_tokens(
    oauth: OAuthWorld,
) -> None:
    rs = await oauth.register(name="resource-server")
    c = await oauth.register()
    token = await cc_token(oauth, c)
    foreign = jwt.encode(
        {"iss": "https://evil.example", "sub": "x", "exp": int(time.time()) + 60},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"typ": "at+jwt"},
    )
    for t in ("garbage", "agr_" + "x" * 44, foreign, token[:-4] + "AAAA"):
        assert await introspect(oauth, rs, t) == {"active": False}
    revoked = await oauth.client.post(
        "/oauth/revoke", data={"token": token}, headers=basic(c["client_id"], c["client_secret"])
    )
    assert revoked.status_code == 200 and revoked.content == b""
    assert await introspect(oauth, rs, token) == {"active": False}
    assert (await oauth.client.get("/v1/whoami", headers=bearer(token))).status_code == 401


async def test_introspection_of_expired_access_tokens_is_inactive(oauth: OAuthWorld) -> None:
    rs = await oauth.register(name="resource-server")
    signing = oauth.rt.tokens.signing
    now = int(time.time())
    claims = {
        "iss": oauth.issuer,
        "sub": "s",
        "aud": oauth.issuer,
        "client_id": "c",
        "scope": "",
        "jti": uuid.uuid4().hex,
        "iat": now - 3700,
        "exp": now - 100,
    }
    old = signing.ring.sign(claims, algorithm="EdDSA", now=signing.now())
    assert await introspect(oauth, rs, old) == {"active": False}


async def test_introspection_needs_a_confidential_client(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    token = await cc_token(oauth, c)
    anonymous = await oauth.client.post("/oauth/introspect", data={"token": token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    public = await oauth.register(name="spa", public=True, grants=["refresh_token"])
    r = await oauth.client.post(
        "/oauth/introspect", data={"token": token, "client_id": public["client_id"]}
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    missing = await oauth.client.post(
        "/oauth/introspect", data={"x": "1"}, headers=basic(c["client_id"], c["client_secret"])
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


async def test_refresh_tokens_introspect_and_revoke_their_family(oauth: OAuthWorld) -> None:
    rs = await oauth.register(name="resource-server")
    c = await oauth.register(grants=["refresh_token"])
    user = await oauth.rt.users.create(LOCAL_ADMIN, "bob", role="member", scopes=["read"])
    first = await oauth.rt.tokens.refresh.issue(
        user_id=user.id, client_id=c["client_id"], scopes=["read"]
    )
    body = await introspect(oauth, rs, first.token)
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert (
        body["client_id"] == c["client_id"] and body["sub"] == user.id and body["scope"] == "read"
    )
    h = basic(c["client_id"], c["client_secret"])
    pair = (
        await oauth.token({"grant_type": "refresh_token", "refresh_token": first.token}, headers=h)
    ).json()
    assert await introspect(oauth, rs, first.token) == {"active": False}  # used
    # another client cannot revoke it: 200, nothing happens
    other = await oauth.client.post(
        "/oauth/revoke",
        data={"token": pair["refresh_token"]},
        headers=basic(rs["client_id"], rs["client_secret"]),
    )
    assert other.status_code == 200
    assert (await introspect(oauth, rs, pair["refresh_token"]))["active"] is True
    r = await oauth.client.post(
        "/oauth/revoke",
        data={"token": pair["refresh_token"], "token_type_hint": "refresh_token"},
        headers=h,
    )
    assert r.status_code == 200
    assert await introspect(oauth, rs, pair["refresh_token"]) == {"active": False}
    # the family's access token is denied too
    assert await introspect(oauth, rs, pair["access_token"]) == {"active": False}


async def test_revocation_of_unknown_tokens_is_200_and_needs_client_auth(oauth: OAuthWorld) -> None:
    c = await oauth.register()
    h = basic(c["client_id"], c["client_secret"])
    assert (
        await oauth.client.post("/oauth/revoke", data={"token": "nope"}, headers=h)
    ).status_code == 200
    assert (await oauth.client.post("/oauth/revoke", data={"token": "nope"})).status_code == 401
    other = await oauth.register(name="other")
    token = await cc_token(oauth, c)
    await oauth.client.post(
        "/oauth/revoke",
        data={"token": token},
        headers=basic(other["client_id"], other["client_secret"]),
    )
    assert (await oauth.client.get("/v1/whoami", headers=bearer(token))).status_code == 200


async def test_metadata_documents(oauth: OAuthWorld) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        r = await oauth.client.get(path)
        assert r.status_code == 200
        meta = r.json()
        assert meta["issuer"] == oauth.issuer
        assert meta["token_endpoint"] == oauth.issuer + "/oauth/token"
        assert meta["jwks_uri"] == oauth.issuer + "/.well-known/jwks.json"
        assert meta["introspection_endpoint"] == oauth.issuer + "/oauth/introspect"
        assert meta["revocation_endpoint"] == oauth.issuer + "/oauth/revoke"
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert set(meta["grant_types_supported"]) == {
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        }
        assert meta["authorization_endpoint"] == oauth.issuer + "/oauth/authorize"
        assert meta["response_types_supported"] == ["code"]
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert "password" not in meta["grant_types_supported"]
        assert "implicit" not in meta["grant_types_supported"]
        assert "token" not in meta["response_types_supported"]
        assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    oidc = (await oauth.client.get("/.well-known/openid-configuration")).json()
    assert oidc["userinfo_endpoint"] == oauth.issuer + "/oauth/userinfo"
    assert oidc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in oidc["scopes_supported"]
    jwks = (await oauth.client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"]


# -- private_key_jwt ----------------------------------------------------------------------


def assertion(key: Any, client_id: str, aud: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    } | claims
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None},
        key,
        algorithm="ES256",
        headers={"kid": "k1"},
    )


@pytest.fixture
async def pkjwt(oauth: OAuthWorld) -> tuple[dict[str, Any], Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1"}
    c = await oauth.register(
        token_endpoint_auth_method="private_key_jwt", jwks={"keys": [public]}, scopes=["read"]
    )
    assert "client_secret" not in c
    return c, key


def pk_form(a: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": a,
    }


async def test_private_key_jwt_signed_by_pyjwt_and_replayed_jti_refused(
    oauth: OAuthWorld, pkjwt: tuple[dict[str, Any], Any]
) -> None:
    c, key = pkjwt
    a = assertion(key, c["client_id"], oauth.issuer + "/oauth/token")
    r = await oauth.token(pk_form(a))
    assert r.status_code == 200, r.text
    assert (
        jwt.decode(r.json()["access_token"], options={"verify_signature": False})["client_id"]
        == c["client_id"]
    )
    replay = await oauth.token(pk_form(a))
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    # the issuer is an accepted audience too (RFC 7523 §3, RFC 9700 §2.5 guidance)
    assert (
        await oauth.token(pk_form(assertion(key, c["client_id"], oauth.issuer)))
    ).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://other.example/token"},
        {"exp": int(time.time()) - 120},
        {"exp": None},
        {"jti": None},
        {"exp": int(time.time()) + 3600},
        {"iss": "someone-else"},
    ],
    ids=["foreign-aud", "expired", "no-exp", "no-jti", "long-lived", "wrong-iss"],
)
async def test_private_key_jwt_bad_assertions(
    oauth: OAuthWorld, pkjwt: tuple[dict[str, Any], Any], claims: dict[str, Any]
) -> None:
    c, key = pkjwt
    claims = {"aud": oauth.issuer + "/oauth/token"} | claims
    aud = claims.pop("aud")
    r = await oauth.token(pk_form(assertion(key, c["client_id"], aud, **claims)))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


async def test_private_key_jwt_other_key_and_hs256_refused(
    oauth: OAuthWorld, pkjwt: tuple[dict[str, Any], Any]
) -> None:
    c, _ = pkjwt
    other = ec.generate_private_key(ec.SECP256R1())
    a = assertion(other, c["client_id"], oauth.issuer + "/oauth/token")
    assert (await oauth.token(pk_form(a))).status_code == 401
    now = int(time.time())
    hs = jwt.encode(
        {
            "iss": c["client_id"],
            "sub": c["client_id"],
            "aud": oauth.issuer,
            "jti": "j",
            "exp": now + 60,
        },
        "k" * 32,
        algorithm="HS256",
    )
    assert (await oauth.token(pk_form(hs))).status_code == 401


# -- /v1/clients ----------------------------------------------------------------------------


async def test_admin_api_clients_contract_and_ownership(
    oauth: OAuthWorld, accounts: Accounts
) -> None:
    await accounts.user("mallory", password="correct-horse-battery", scopes=["read"])
    await accounts.user("carol", password="correct-horse-battery-2", scopes=["read"])
    m = basic("mallory", "correct-horse-battery")
    r = await oauth.client.post(
        "/v1/clients",
        json={"name": "svc", "grants": ["client_credentials"], "scopes": ["read"]},
        headers=m,
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    created = r.json()
    assert list(created)[:5] == ["client_id", "client_secret", "grants", "redirect_uris", "scopes"]
    assert (
        created["grants"] == ["client_credentials"]
        and created["redirect_uris"] == []
        and created["scopes"] == ["read"]
    )
    cid = created["client_id"]
    wider = await oauth.client.post(
        "/v1/clients",
        json={"name": "x", "grants": ["client_credentials"], "scopes": ["admin"]},
        headers=m,
    )
    assert wider.status_code == 403
    listed = (await oauth.client.get("/v1/clients", headers=m)).json()["clients"]
    assert [x["client_id"] for x in listed] == [cid] and "client_secret" not in listed[0]
    got = (await oauth.client.get(f"/v1/clients/{cid}", headers=m)).json()
    assert got["client_id"] == cid and "client_secret" not in got
    # another member: 404 for get, rotate and delete (OWASP API1)
    c2 = basic("carol", "correct-horse-battery-2")
    assert (await oauth.client.get(f"/v1/clients/{cid}", headers=c2)).status_code == 404
    assert (
        await oauth.client.post(f"/v1/clients/{cid}/rotate-secret", headers=c2)
    ).status_code == 404
    assert (await oauth.client.delete(f"/v1/clients/{cid}", headers=c2)).status_code == 404
    assert (await oauth.client.get("/v1/clients", headers=c2)).json() == {"clients": []}
    rotated = await oauth.client.post(f"/v1/clients/{cid}/rotate-secret", headers=m)
    assert (
        rotated.status_code == 201 and rotated.json()["client_secret"] != created["client_secret"]
    )
    assert (await oauth.client.delete(f"/v1/clients/{cid}", headers=m)).json()[
        "status"
    ] == "deleted"
    assert (await oauth.client.get(f"/v1/clients/{cid}", headers=m)).status_code == 404
    assert (
        await oauth.client.post(
            "/v1/clients",
            json={"name": "x", "grants": ["client_credentials"], "role": "admin"},
            headers=m,
        )
    ).status_code == 400


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb#frag",
        "http://app.example/cb",
        "https://user@app.example/cb",
        "/relative/cb",
        "http://[::::::::::::::::::::::::::]/path",
        "https://app.example/c b",
    ],
)
async def test_security_redirect_uri_registration_is_strict(oauth: OAuthWorld, uri: str) -> None:
    from authgate.errors import InvalidRequest

    start = time.perf_counter()
    with pytest.raises(InvalidRequest):
        await oauth.register(grants=["authorization_code"], redirect_uris=[uri])
    assert time.perf_counter() - start < 0.1


async def test_loopback_http_and_https_redirect_uris_are_accepted(oauth: OAuthWorld) -> None:
    c = await oauth.register(
        grants=["authorization_code"],
        public=True,
        redirect_uris=["http://127.0.0.1/cb", "http://[::1]:8080/cb", "https://app.example/cb/"],
    )
    assert c["redirect_uris"] == [
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "https://app.example/cb/",
    ]
    assert c["token_endpoint_auth_method"] == "none" and "client_secret" not in c


async def test_whoami_rejects_an_access_token_after_its_client_revokes_it(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register()
    token = await cc_token(oauth, c)
    assert (await oauth.client.get("/v1/whoami", headers=bearer(token))).status_code == 200
    await oauth.client.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers=basic(c["client_id"], c["client_secret"]),
    )
    assert (await oauth.client.get("/v1/whoami", headers=bearer(token))).status_code == 401
    assert isinstance(httpx2.Response, type)
