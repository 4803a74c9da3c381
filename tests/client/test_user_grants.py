"""OAuth2AuthorizationCode (PKCE, loopback redirect) and OAuth2DeviceCode against a real
``authgate serve``: a browser (an httpx2 client with its cookies) signs in and consents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest

from authgate.client import (
    DeviceAuthorization,
    OAuth2AuthorizationCode,
    OAuth2DeviceCode,
    TokenError,
)
from tests._live_server import LiveServer
from tests._oauth_support import PASSWORD, form_of


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    home: Path = tmp_path_factory.mktemp("user-grants") / "home"
    with LiveServer.running(home) as server:
        server.cli(
            "users", "create", "alice", "--scopes", "read", "--password-stdin", stdin=PASSWORD
        )
        clients = {
            "code": server.cli(
                "clients", "create", "cli-app", "--public", "--grant", "authorization_code",
                "--grant", "refresh_token", "--redirect-uri", "http://127.0.0.1/callback",
                "--scopes", "read",
            ),
            "device": server.cli(
                "clients", "create", "tv-app", "--public", "--grant", "device_code",
                "--grant", "refresh_token", "--scopes", "read",
            ),
        }  # fmt: skip
        yield server, clients


class Browser:
    """Signs alice in and answers the pages as a user would; records what it saw."""

    def __init__(self, decision: str = "allow") -> None:
        self.decision = decision
        self.opened: list[str] = []

    def _submit(self, b: httpx2.Client, page: httpx2.Response, **fields: str) -> httpx2.Response:
        action, hidden = form_of(page.text)
        return b.post(urljoin(str(page.url), action), data={**hidden, **fields})

    def _signed_in(self, b: httpx2.Client, url: str) -> httpx2.Response:
        page = b.get(url)
        if "password" in page.text:
            r = self._submit(b, page, username="alice", password=PASSWORD, code="")
            assert r.status_code in (302, 303), r.text
            page = b.get(urljoin(url, r.headers["location"]))
        return page

    def open(self, url: str) -> bool:
        """The authorization code flow: sign in, consent, follow to the loopback."""
        self.opened.append(url)
        with httpx2.Client(timeout=10) as b:
            page = self._signed_in(b, url)
            if page.status_code == 200:
                page = self._submit(b, page, decision=self.decision)
            assert page.status_code in (302, 303), page.text
            callback = b.get(page.headers["location"])
            assert callback.status_code == 200 and "close this window" in callback.text
        return True

    def approve(self, shown: DeviceAuthorization) -> None:
        """The device flow: open the complete URI, sign in, confirm the code, decide."""
        assert shown.verification_uri_complete
        with httpx2.Client(timeout=10) as b:
            page = self._signed_in(b, shown.verification_uri_complete)
            confirm = self._submit(b, page, user_code=shown.user_code)
            assert confirm.status_code == 200, confirm.text
            assert self._submit(b, confirm, decision=self.decision).status_code == 200


def code_auth(server: LiveServer, client: dict[str, Any], browser: Browser) -> Any:
    return OAuth2AuthorizationCode(
        f"{server.base}/oauth/authorize",
        f"{server.base}/oauth/token",
        client["client_id"],
        scope="read",
        open_browser=browser.open,
        timeout=10,
    )


def test_authorization_code_with_pkce_and_loopback(
    live: tuple[LiveServer, dict[str, Any]],
) -> None:
    server, clients = live
    browser = Browser()
    auth = code_auth(server, clients["code"], browser)
    with httpx2.Client(base_url=server.base, timeout=10) as http:
        r = http.get("/v1/whoami", auth=auth)
        assert r.status_code == 200, r.text
        assert r.json()["subject"] == "alice" and r.json()["scheme"] == "bearer"
        assert http.get("/v1/whoami", auth=auth).status_code == 200
    assert len(browser.opened) == 1 and auth.token_requests == 1  # the token is cached
    query = parse_qs(urlsplit(browser.opened[0]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert "code_verifier" not in browser.opened[0]
    # expired: the refresh token buys the next one, no browser
    auth._token.expires_at = 0  # type: ignore[union-attr]
    with httpx2.Client(base_url=server.base, timeout=10) as http:
        assert http.get("/v1/whoami", auth=auth).status_code == 200
    assert len(browser.opened) == 1 and auth.token_requests == 2
    assert "client_secret" not in repr(auth)


def test_authorization_code_async_and_denied(live: tuple[LiveServer, dict[str, Any]]) -> None:
    server, clients = live

    async def main() -> int:
        auth = code_auth(server, clients["code"], Browser())
        async with httpx2.AsyncClient(base_url=server.base, timeout=10) as http:
            answers = await asyncio.gather(*(http.get("/v1/whoami", auth=auth) for _ in range(5)))
        assert all(r.status_code == 200 for r in answers)
        return auth.token_requests

    assert asyncio.run(main()) == 1  # five concurrent requests, one sign-in
    with httpx2.Client(base_url=server.base, timeout=10) as http:
        denied = code_auth(server, clients["code"], Browser("deny"))
        with pytest.raises(TokenError, match="refused \\(access_denied\\)"):
            http.get("/v1/whoami", auth=denied)


def device_auth(server: LiveServer, client: dict[str, Any], browser: Browser) -> Any:
    return OAuth2DeviceCode(
        f"{server.base}/oauth/device_authorization",
        f"{server.base}/oauth/token",
        client["client_id"],
        scope="read",
        prompt=browser.approve,
        sleep=lambda seconds: None,
    )


def test_device_code(live: tuple[LiveServer, dict[str, Any]]) -> None:
    server, clients = live
    auth = device_auth(server, clients["device"], Browser())
    with httpx2.Client(base_url=server.base, timeout=10) as http:
        r = http.get("/v1/whoami", auth=auth)
        assert r.status_code == 200, r.text
        assert r.json()["subject"] == "alice"
        auth._token.expires_at = 0  # refreshed without the user
        assert http.get("/v1/whoami", auth=auth).status_code == 200
        assert auth.token_requests == 2
        denied = device_auth(server, clients["device"], Browser("deny"))
        with pytest.raises(TokenError, match="ended: access_denied"):
            http.get("/v1/whoami", auth=denied)
