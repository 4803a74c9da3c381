"""OAuth2ClientCredentials and AuthgateKeyPair: caching, refresh before expiry, one purchase
for many concurrent requests (asyncio and threads), one retry on 401 invalid_token."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from authgate.client import AuthgateKeyPair, OAuth2ClientCredentials, TokenError

TOKEN_URL = "http://as.test/oauth/token"


class Server:
    """A token endpoint and an API on one mock transport."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.token_bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def token(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            token = f"tok{len(self.issued) + 1}"
            self.issued.append(token)
        if request.url.path == "/oauth/token":
            assert request.headers["authorization"] == "Basic " + base64.b64encode(
                b"cid:csecret"
            ).decode("ascii")
            self.token_bodies.append(dict(httpx2.QueryParams(request.content.decode())))
        else:
            self.token_bodies.append(json.loads(request.content))
        return httpx2.Response(
            200,
            json={
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "refresh_token": f"r-{token}",
            },
        )

    def api(self, request: httpx2.Request) -> httpx2.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx2.Response(
                401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        return httpx2.Response(200, json={"token": token})

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path in ("/oauth/token", "/auth", "/auth/refresh"):
            return self.token(request)
        return self.api(request)

    async def async_handler(self, request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.01)  # let every concurrent request reach the lock
        return self(request)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client_credentials(clock: Clock, **kw: Any) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(TOKEN_URL, "cid", "csecret", clock=clock, **kw)


async def test_fifty_concurrent_requests_with_an_expired_token_buy_one() -> None:
    server, clock = Server(expires_in=300), Clock()
    auth = client_credentials(clock, scope="read")
    transport = httpx2.MockTransport(server.async_handler)
    async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
        assert (await client.get("http://api.test/v1/whoami")).json() == {"token": "tok1"}
        clock.now += 301  # expired
        responses = await asyncio.gather(
            *(client.get("http://api.test/v1/whoami") for _ in range(50))
        )
    assert {r.json()["token"] for r in responses} == {"tok2"}
    assert server.issued == ["tok1", "tok2"]
    assert server.token_bodies[0] == {"grant_type": "client_credentials", "scope": "read"}


def test_fifty_threads_with_an_expired_token_buy_one() -> None:
    server, clock = Server(), Clock()
    auth = client_credentials(clock)
    with httpx2.Client(transport=httpx2.MockTransport(server), auth=auth) as client:
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda _: client.get("http://api.test/").json(), range(50)))
    assert {r["token"] for r in results} == {"tok1"}
    assert server.issued == ["tok1"]


def test_cached_then_refreshed_before_expiry() -> None:
    server, clock = Server(expires_in=600), Clock()
    auth = client_credentials(clock, refresh_before=60)
    with httpx2.Client(transport=httpx2.MockTransport(server), auth=auth) as client:
        for _ in range(3):
            client.get("http://api.test/")
        clock.now += 539
        assert client.get("http://api.test/").json()["token"] == "tok1"
        clock.now += 2  # within 60 s of expiry
        assert client.get("http://api.test/").json()["token"] == "tok2"
    assert auth.token_requests == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_retry_once_on_invalid_token(mode: str) -> None:
    server, clock = Server(), Clock()
    auth = client_credentials(clock)
    url = "http://api.test/"
    if mode == "sync":
        with httpx2.Client(transport=httpx2.MockTransport(server), auth=auth) as client:
            assert client.get(url).json()["token"] == "tok1"
            server.revoked.add("tok1")
            assert client.get(url).json()["token"] == "tok2"
            server.revoked.add("tok2")
            server.revoked.add("tok3")  # the retry fails too: no second retry
            assert client.get(url).status_code == 401
    else:
        transport = httpx2.MockTransport(server.async_handler)
        async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
            assert (await client.get(url)).json()["token"] == "tok1"
            server.revoked.add("tok1")
            assert (await client.get(url)).json()["token"] == "tok2"
            server.revoked.update({"tok2", "tok3"})
            assert (await client.get(url)).status_code == 401
    assert server.issued == ["tok1", "tok2", "tok3"]


def test_key_pair_exchange_then_refresh_token() -> None:
    server, clock = Server(expires_in=3600), Clock()
    auth = AuthgateKeyPair("http://as.test/", "AK1", "pair-secret", clock=clock)
    with httpx2.Client(transport=httpx2.MockTransport(server), auth=auth) as client:
        assert client.get("http://as.test/v1/whoami").json()["token"] == "tok1"
        clock.now += 3590
        assert client.get("http://as.test/v1/whoami").json()["token"] == "tok2"
    assert server.token_bodies == [
        {"api_key": "AK1", "api_secret": "pair-secret"},
        {"refresh_token": "r-tok1"},
    ]


def test_a_refused_token_request_is_a_clear_error_without_secrets() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"error": "invalid_client"})

    auth = OAuth2ClientCredentials(TOKEN_URL, "cid", "csecret-do-not-show")
    with httpx2.Client(transport=httpx2.MockTransport(refuse), auth=auth) as client:
        with pytest.raises(TokenError) as caught:
            client.get("http://api.test/")
    assert "invalid_client" in str(caught.value)
    assert "csecret" not in str(caught.value) and "csecret" not in repr(caught.value)
