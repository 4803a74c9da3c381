"""/v1/whoami through the real server for every scheme, each signed by an independent client."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from joserfc.jwk import ECKey
from requests_oauthlib import OAuth1
from tests.conftest import make_settings

from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

BASE = "http://api.test"
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())
ISSUER = "https://issuer.example"


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    jwk = ECKey.import_key(EC_PRIVATE.public_key()).as_dict()
    jwk.update(kid="k1", alg="ES256", use="sig")
    settings = make_settings(
        tmp_path,
        issuers=[
            {
                "issuer": ISSUER,
                "audiences": ["authgate"],
                "jwks": {"keys": [jwk]},
                "roles_claim": "roles",
            }
        ],
    )
    rt = await Runtime.open(settings, batched_audit=False)
    await rt.users.create(LOCAL_ADMIN, "svc", scopes=["read"])
    pair = (
        await rt.keys.create(LOCAL_ADMIN, user="svc", type="key-pair", scopes=["read"])
    ).as_json()
    transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
        yield rt, client, pair
    await rt.close()


async def send_prepared(
    client: httpx2.AsyncClient, prepared: requests.PreparedRequest
) -> httpx2.Response:
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return await client.request(
        prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers), content=body
    )


def expect(r: httpx2.Response, scheme: str, pair: dict[str, Any]) -> None:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scheme"] == scheme and body["subject"] == "svc"
    assert body["credential_id"] == pair["id"] and body["scopes"] == ["read"]


async def test_sigv4_botocore(world: Any) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    _, client, pair = world
    req = AWSRequest(method="GET", url=f"{BASE}/v1/whoami?x=1")
    SigV4Auth(Credentials(pair["key"], pair["secret"]), "execute-api", "us-east-1").add_auth(req)
    r = await client.get("/v1/whoami?x=1", headers=dict(req.headers.items()))
    expect(r, "sigv4", pair)
    # a signature covers the whole request: the same headers on another path fail
    r = await client.get("/v1/whoami?x=2", headers=dict(req.headers.items()))
    assert r.status_code == 403


async def test_sigv4_presigned_url(world: Any) -> None:
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    _, client, pair = world
    req = AWSRequest(method="GET", url=f"{BASE}/v1/whoami")
    SigV4QueryAuth(
        Credentials(pair["key"], pair["secret"]), "execute-api", "us-east-1", 60
    ).add_auth(req)
    r = await client.get(req.url)
    expect(r, "sigv4", pair)


async def test_rfc9421_http_message_signatures(world: Any) -> None:
    _, client, pair = world

    class Keys(HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id: str) -> bytes:
            return pair["secret"].encode()

        def resolve_public_key(self, key_id: str) -> bytes:
            return pair["secret"].encode()

    prepared = requests.Request("GET", f"{BASE}/v1/whoami").prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys()).sign(
        prepared,
        key_id=pair["key"],
        nonce=secrets.token_urlsafe(16),
        covered_component_ids=("@method", "@authority", "@target-uri"),
    )
    expect(await send_prepared(client, prepared), "httpsig", pair)
    replay = await send_prepared(client, prepared)
    assert replay.status_code == 401  # nonce already seen


def hmac_simple_headers(pair: dict[str, Any]) -> dict[str, str]:
    """Sign GET /v1/whoami as docs/schemes/hmac-simple.md specifies."""
    date, nonce = str(int(time.time())), secrets.token_hex(16)
    lines = [
        "GET",
        "/v1/whoami",
        "",
        "host:api.test",
        f"x-authgate-date:{date}",
        f"x-authgate-nonce:{nonce}",
        hashlib.sha256(b"").hexdigest(),
    ]
    sig = hmac.new(pair["secret"].encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": f"HMAC-SHA256 Credential={pair['key']}, "
        f"SignedHeaders=host;x-authgate-date;x-authgate-nonce, Signature={sig}",
        "X-Authgate-Date": date,
        "X-Authgate-Nonce": nonce,
    }


async def test_hmac_sha256_simple(world: Any) -> None:
    _, client, pair = world
    expect(await client.get("/v1/whoami", headers=hmac_simple_headers(pair)), "hmac", pair)


async def test_oauth1_requests_oauthlib(world: Any) -> None:
    _, client, pair = world
    prepared = requests.Request(
        "GET", f"{BASE}/v1/whoami", auth=OAuth1(pair["key"], pair["secret"])
    ).prepare()
    expect(await send_prepared(client, prepared), "oauth1", pair)


async def test_bearer_jwt_from_trusted_issuer(world: Any) -> None:
    _, client, _ = world
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": "robot",
            "aud": "authgate",
            "iat": now,
            "exp": now + 300,
            "scope": "read write",
            "jti": "t1",
            "client_id": "c1",
        },
        EC_PRIVATE,
        algorithm="ES256",
        headers={"kid": "k1", "typ": "at+jwt"},
    )
    r = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["scheme"] == "bearer" and r.json()["scopes"] == ["read", "write"]
    forged = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    r = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]


async def test_signature_schemes_never_use_the_identity_shortcut(world: Any) -> None:
    rt, client, pair = world
    headers = hmac_simple_headers(pair)
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 200
    assert len(rt.verified) == 0
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 401  # replay


def test_issuers_load_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from authgate.config import Settings

    cfg = tmp_path / "a.toml"
    cfg.write_text(
        '[[issuers]]\nissuer = "https://id.example"\naudiences = ["api"]\n'
        'jwks_url = "https://id.example/jwks.json"\n'
    )
    monkeypatch.setenv("AUTHGATE_CONFIG", str(cfg))
    s = Settings.load()
    assert s.issuers[0].issuer == "https://id.example" and json.dumps(s.issuers[0].audiences)


async def test_foreign_issuer_token_never_manages(world: Any) -> None:
    """Issue 8 item 1: a token of another issuer was never consented on authgate's page,
    so it gets 403 on the management API whatever scopes or roles it claims."""
    _, client, _ = world
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": "robot",
            "aud": "authgate",
            "iat": now,
            "exp": now + 300,
            "scope": "read authgate:manage authgate:admin",
            "roles": ["admin"],  # the issuer's roles claim is trusted, still not here
            "jti": "t2",
            "client_id": "c1",
        },
        EC_PRIVATE,
        algorithm="ES256",
        headers={"kid": "k1", "typ": "at+jwt"},
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 200
    for r in (
        await client.post("/v1/keys", json={}, headers=headers),
        await client.post("/v1/users", json={"name": "evil"}, headers=headers),
        await client.get("/v1/clients", headers=headers),
        await client.get("/v1/audit", headers=headers),  # nor reads everyone's audit log
    ):
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope", r.text
