"""``/verify``: forward auth for nginx, Traefik and Envoy, on a real runtime (SQLite).

The original request is the one each scheme verifies and the policy decides; the
forwarding headers are believed from trusted proxies only; identity headers always go out
whole (empty when anonymous) so that a proxy copying them overwrites a client's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from tests.conftest import make_settings

from authgate.errors import InvalidRequest
from authgate.http.forwarded import original_scope
from authgate.http.identity_headers import IDENTITY_HEADERS, identity_headers
from authgate.identity import Identity
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

POLICY = """
version = 1
default = "deny"

[[routes]]
path = "/public/**"
anonymous = true

[[routes]]
path = "/orders/**"
methods = ["GET"]
scopes = ["orders:read"]
"""

PROXY = "127.0.0.1/32"  # httpx2's ASGITransport reports the client as 127.0.0.1


@dataclass
class World:
    rt: Runtime
    client: httpx2.AsyncClient
    key: str
    key_id: str
    pair_key: str
    pair_secret: str
    user_id: str


async def _world(tmp_path: Path, proxies: list[str], policy: str | None) -> World:
    extra: dict[str, object] = {"trusted_proxies": proxies}
    if policy is not None:
        (tmp_path / "policy.toml").write_text(policy)
        extra["policy_file"] = tmp_path / "policy.toml"
    settings = make_settings(tmp_path, **extra)
    rt = await Runtime.open(settings, batched_audit=False)
    user = await rt.users.create(LOCAL_ADMIN, "alice", scopes=["orders:read", "orders:write"])
    issued = await rt.keys.create(LOCAL_ADMIN, user="alice", scopes=["orders:read"])
    pair = await rt.keys.create(LOCAL_ADMIN, user="alice", scopes=["orders:read"], type="key-pair")
    assert pair.secret is not None
    transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
    client = httpx2.AsyncClient(transport=transport, base_url="http://auth.internal")
    return World(rt, client, issued.key, issued.view.id, pair.key, pair.secret, user.id)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await _world(tmp_path, [PROXY], None)
    try:
        yield w
    finally:
        await w.client.aclose()
        await w.rt.close()


@pytest.fixture
async def policed(tmp_path: Path) -> AsyncIterator[World]:
    w = await _world(tmp_path, [PROXY], POLICY)
    try:
        yield w
    finally:
        await w.client.aclose()
        await w.rt.close()


def _nginx(method: str, uri: str, **headers: str) -> dict[str, str]:
    return {"X-Original-Method": method, "X-Original-URI": uri, **headers}


async def test_an_api_key_passes_with_the_identity_headers(world: World) -> None:
    r = await world.client.get(
        "/verify", headers=_nginx("GET", "/orders/1?x=1", **{"X-API-Key": world.key})
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-authgate-subject"] == "alice"
    assert r.headers["x-authgate-principal"] == world.user_id
    assert r.headers["x-authgate-scheme"] == "apikey"
    assert r.headers["x-authgate-credential"]
    assert r.headers["x-authgate-scopes"] == "orders:read"
    assert r.headers["cache-control"] == "no-store"


async def test_no_credentials_is_401_with_a_challenge(world: World) -> None:
    r = await world.client.get("/verify", headers=_nginx("GET", "/orders/1"))
    assert r.status_code == 401
    assert r.headers.get("www-authenticate")
    assert "x-authgate-subject" not in r.headers


async def test_a_wrong_key_is_401(world: World) -> None:
    r = await world.client.get(
        "/verify", headers=_nginx("GET", "/", **{"X-API-Key": world.key[:-2] + "xx"})
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


async def test_a_revoked_key_is_refused_at_once(world: World) -> None:
    headers = _nginx("GET", "/", **{"X-API-Key": world.key})
    assert (await world.client.get("/verify", headers=headers)).status_code == 200
    await world.rt.keys.revoke(LOCAL_ADMIN, world.key_id)
    assert (await world.client.get("/verify", headers=headers)).status_code == 401


async def test_an_untrusted_peer_is_refused_whatever_it_forwards(tmp_path: Path) -> None:
    w = await _world(tmp_path, ["10.0.0.0/8"], None)
    try:
        r = await w.client.get("/verify", headers=_nginx("GET", "/", **{"X-API-Key": w.key}))
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        r = await w.client.get("/verify/orders/1", headers={"X-API-Key": w.key})
        assert r.status_code == 403
    finally:
        await w.client.aclose()
        await w.rt.close()


def _sigv4(w: World, method: str, url: str) -> dict[str, str]:
    """botocore (AWS's own signer) signs the request the client sends to the proxy."""
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials(w.pair_key, w.pair_secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


async def test_sigv4_made_for_the_original_request_verifies_through_nginx_headers(
    world: World,
) -> None:
    # the client signed GET https://api.example.com/orders/7?b=2&a=1; the proxy asks with
    # GET /verify, the original method and URI in headers and the original Host kept
    signed = _sigv4(world, "GET", "https://api.example.com/orders/7?b=2&a=1")
    headers = {**signed, **_nginx("GET", "/orders/7?b=2&a=1"), "Host": "api.example.com"}
    r = await world.client.get("/verify", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["x-authgate-scheme"] == "sigv4"
    # the same signature does not cover another path, method or host
    other = {**headers, "X-Original-URI": "/orders/8?b=2&a=1"}
    assert (await world.client.get("/verify", headers=other)).status_code in (401, 403)
    other = {**headers, "X-Original-Method": "DELETE"}
    assert (await world.client.get("/verify", headers=other)).status_code in (401, 403)
    other = {**headers, "Host": "evil.example.com"}
    assert (await world.client.get("/verify", headers=other)).status_code in (401, 403)


async def test_sigv4_through_traefik_headers(world: World) -> None:
    signed = _sigv4(world, "POST", "https://api.example.com/orders?page=2")
    headers = {
        **signed,
        "X-Forwarded-Method": "POST",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.example.com",
        "X-Forwarded-Uri": "/orders?page=2",
    }
    r = await world.client.get("/verify", headers=headers)  # Traefik asks with GET
    assert r.status_code == 200, r.text


async def test_sigv4_through_envoy_path_prefix(world: World) -> None:
    # Envoy's ext_authz HTTP service keeps the method and Host, and prefixes the path
    signed = _sigv4(world, "PUT", "http://api.example.com/orders/7?a=1")
    headers = {**signed, "Host": "api.example.com"}
    r = await world.client.put("/verify/orders/7?a=1", headers=headers)
    assert r.status_code == 200, r.text
    r = await world.client.put("/verify/orders/8?a=1", headers=headers)
    assert r.status_code in (401, 403)


async def test_the_policy_decides_on_the_original_request(policed: World) -> None:
    key = {"X-API-Key": policed.key}
    c = policed.client
    assert (await c.get("/verify", headers=_nginx("GET", "/orders/1", **key))).status_code == 200
    r = await c.get("/verify", headers=_nginx("POST", "/orders/1", **key))
    assert r.status_code == 403  # only GET is in the policy
    assert (await c.get("/verify", headers=_nginx("GET", "/admin", **key))).status_code == 403
    # an anonymous request passes only where the policy says so, with empty identity
    r = await c.get("/verify", headers=_nginx("GET", "/public/doc"))
    assert r.status_code == 200
    assert all(r.headers[name.decode()] == "" for name in IDENTITY_HEADERS)
    r = await c.get("/verify", headers=_nginx("GET", "/orders/1"))
    assert r.status_code == 401 and r.headers.get("www-authenticate")
    # a dot-segment in the original URI is not a way around a rule
    r = await c.get("/verify", headers=_nginx("GET", "/public/../orders/1"))
    assert r.status_code in (400, 401, 403)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Original-URI": "orders"},  # not origin-form
        {"X-Original-URI": "http://evil/orders"},
        {"X-Original-URI": "/a b"},
        {"X-Original-URI": "/" + "a" * 9000},
        {"X-Original-Method": "get"},
        {"X-Original-Method": "G ET"},
        {"X-Forwarded-Proto": "gopher"},
        {"X-Forwarded-Host": "evil.example.com/path"},
    ],
)
async def test_malformed_forwarding_headers_are_400(world: World, headers: dict[str, str]) -> None:
    r = await world.client.get("/verify", headers={**headers, "X-API-Key": world.key})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_a_repeated_forwarding_header_is_400(world: World) -> None:
    headers = [("X-Original-URI", "/a"), ("X-Original-URI", "/b"), ("X-API-Key", world.key)]
    r = await world.client.get("/verify", headers=headers)
    assert r.status_code == 400


def test_original_scope_rebuilds_method_path_query_host_and_scheme() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/verify",
        "raw_path": b"/verify",
        "query_string": b"",
        "headers": [
            (b"host", b"auth.internal"),
            (b"x-forwarded-method", b"PATCH"),
            (b"x-forwarded-uri", b"/a%2Fb/c?q=%20"),
            (b"x-forwarded-host", b"api.example.com:8443"),
            (b"x-forwarded-proto", b"HTTPS"),
            (b"x-api-key", b"k"),
        ],
        "client": ("127.0.0.1", 1),
    }
    original = original_scope(scope, "/verify")
    assert original["method"] == "PATCH"
    assert original["scheme"] == "https"
    assert original["raw_path"] == b"/a%2Fb/c"
    assert original["path"] == "/a/b/c"
    assert original["query_string"] == b"q=%20"
    assert dict(original["headers"])[b"host"] == b"api.example.com:8443"
    assert b"x-forwarded-uri" not in dict(original["headers"])
    assert scope["method"] == "GET"  # the subrequest's scope is left as it was


def test_original_scope_rejects_a_bad_value_with_invalid_request() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/verify",
        "headers": [(b"x-original-uri", b"/\x7f")],
    }
    with pytest.raises(InvalidRequest):
        original_scope(scope, "/verify")


def test_identity_header_values_cannot_break_a_header() -> None:
    identity = Identity(
        subject="Zoë\r\nX-Evil: 1",
        principal_id="u1",
        scheme="bearer",
        credential_id=None,
        scopes=("a", "b:c"),
    )
    headers = dict(identity_headers(identity))
    assert headers[b"x-authgate-subject"] == b"Zo%C3%AB%0D%0AX-Evil:%201"
    assert headers[b"x-authgate-credential"] == b""
    assert headers[b"x-authgate-scopes"] == b"a b:c"
    assert all(b"\r" not in v and b"\n" not in v for v in headers.values())
    assert dict(identity_headers(None)) == {name: b"" for name in IDENTITY_HEADERS}
