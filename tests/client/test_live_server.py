"""Every auth class end to end against a real ``authgate serve``, calling ``/v1/whoami``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from authgate.client import (
    APIKeyAuth,
    AuthgateKeyPair,
    AWSSigV4Auth,
    BasicAuth,
    BearerAuth,
    HMACAuth,
    NoAuth,
    OAuth1Auth,
    OAuth2ClientCredentials,
)
from tests._live_server import LiveServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    home: Path = tmp_path_factory.mktemp("client-live") / "home"
    with LiveServer.running(home) as server:
        server.cli("users", "create", "svc", "--scopes", "read")
        creds = {
            "pair": server.cli(
                "keys", "create", "--user", "svc", "--type", "key-pair", "--scopes", "read"
            ),
            "apikey": server.cli("keys", "create", "--user", "svc", "--scopes", "read"),
            "client": server.cli(
                "clients", "create", "robot", "--grant", "client_credentials", "--scopes", "read"
            ),
        }
        yield server, creds


def auths(server: LiveServer, c: dict[str, Any]) -> dict[str, tuple[httpx2.Auth, str]]:
    pair, key, client = c["pair"], c["apikey"]["key"], c["client"]
    k, s = pair["key"], pair["secret"]
    return {
        "basic": (BasicAuth(k, s), "basic"),
        "apikey-header": (APIKeyAuth(key), "apikey"),
        "bearer": (BearerAuth(server.pair_token(pair)), "bearer"),
        "sigv4-header": (AWSSigV4Auth(k, s), "sigv4"),
        "sigv4-query": (AWSSigV4Auth(k, s, location="query"), "sigv4"),
        "sigv4-unsigned": (AWSSigV4Auth(k, s, unsigned_payload=True), "sigv4"),
        "rfc9421": (HMACAuth(k, s), "httpsig"),
        "hmac-simple": (HMACAuth(k, s, scheme="simple"), "hmac"),
        "oauth1-header": (OAuth1Auth(k, s), "oauth1"),
        "oauth1-sha256-query": (
            OAuth1Auth(k, s, signature_method="HMAC-SHA256", placement="query"),
            "oauth1",
        ),
        "authgate-keypair": (AuthgateKeyPair(server.base, k, s), "bearer"),
        "oauth2-cc": (
            OAuth2ClientCredentials(
                f"{server.base}/oauth/token", client["client_id"], client["client_secret"]
            ),
            "bearer",
        ),
    }


def test_every_class_sync(live: tuple[LiveServer, dict[str, Any]]) -> None:
    server, creds = live
    with httpx2.Client(base_url=server.base, timeout=10) as http:
        for name, (auth, scheme) in auths(server, creds).items():
            r = http.get("/v1/whoami?b=2&a=1", auth=auth)  # an unsorted query, on purpose
            assert r.status_code == 200, (name, r.text)
            assert r.json()["scheme"] == scheme, name
            assert "read" in r.json()["scopes"], name
        assert http.get("/v1/whoami", auth=NoAuth()).status_code == 401


async def test_every_class_async_with_a_body(live: tuple[LiveServer, dict[str, Any]]) -> None:
    server, creds = live
    async with httpx2.AsyncClient(base_url=server.base, timeout=10) as http:
        for name, (auth, scheme) in auths(server, creds).items():
            r = await http.request("GET", "/v1/whoami", auth=auth, content=b'{"x": 1}')
            assert r.status_code == 200, (name, r.text)
            assert r.json()["scheme"] == scheme, name
