"""Helpers for the OAuth tests: a server whose issuer is the client's base URL, clients."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx2
import pytest
import uvicorn

from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer


@dataclass
class OAuthWorld:
    rt: Runtime
    server: AuthgateServer
    client: httpx2.AsyncClient
    issuer: str

    async def register(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("grants", ["client_credentials"])
        kwargs.setdefault("scopes", ["read", "write"])
        issued = await self.rt.oauth.clients.create(
            LOCAL_ADMIN, kwargs.pop("name", "svc"), **kwargs
        )
        return issued.as_json()

    async def token(self, data: dict[str, str], **kwargs: Any) -> httpx2.Response:
        return await self.client.post("/oauth/token", data=data, **kwargs)


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1 Basic: form-urlencode both parts, then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def oauth(runtime: Runtime, server: AuthgateServer) -> AsyncIterator[OAuthWorld]:
    issuer = runtime.tokens.config.issuer
    transport = httpx2.ASGITransport(app=server, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url=issuer) as client:
        yield OAuthWorld(runtime, server, client, issuer)


# -- the browser side of /oauth/authorize ------------------------------------------------


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and "name" in a:
            self.buttons.setdefault(a["name"], []).append(a.get("value", ""))


def form_of(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and hidden fields, as a browser would submit them."""
    parser = _FormParser()
    parser.feed(html)
    assert parser.action is not None, html
    return parser.action, parser.fields


PASSWORD = "correct horse battery staple"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class BrowserFlow:
    """A browser (its own cookie jar) going through login and consent."""

    client: httpx2.AsyncClient

    async def authorize(self, params: dict[str, str]) -> httpx2.Response:
        return await self.client.get("/oauth/authorize", params=params)

    async def submit(self, page: httpx2.Response, **fields: str) -> httpx2.Response:
        action, hidden = form_of(page.text)
        return await self.client.post(action, data={**hidden, **fields})

    async def login(
        self, page: httpx2.Response, user: str = "alice", password: str = PASSWORD, code: str = ""
    ) -> httpx2.Response:
        assert page.status_code in (200, 401), page.text
        assert 'name="password"' in page.text or "name=password" in page.text
        return await self.submit(page, username=user, password=password, code=code)

    async def follow(self, r: httpx2.Response) -> httpx2.Response:
        assert r.status_code in (302, 303), r.text
        return await self.client.get(r.headers["location"])

    async def code_for(
        self, params: dict[str, str], user: str = "alice", password: str = PASSWORD
    ) -> dict[str, str]:
        """Log in, allow, and return the parameters of the redirect to the client."""
        r = await self.authorize(params)
        if "name=password" in r.text:
            r = await self.follow(await self.login(r, user, password))
        if r.status_code == 200:  # the consent page
            r = await self.submit(r, decision="allow")
        assert r.status_code in (302, 303), r.text
        return dict(parse_qsl(urlsplit(r.headers["location"]).query))


def browser(world: OAuthWorld) -> BrowserFlow:
    transport = httpx2.ASGITransport(app=world.server, client=("203.0.113.9", 40000))
    return BrowserFlow(httpx2.AsyncClient(transport=transport, base_url=world.issuer))


async def make_user(world: OAuthWorld, name: str = "alice", **kwargs: Any) -> str:
    """A member holding ``read`` and ``write`` (unless ``scopes`` says otherwise)."""
    kwargs.setdefault("scopes", ["read", "write"])
    view = await world.rt.users.create(LOCAL_ADMIN, name, password=PASSWORD, **kwargs)
    return str(view.as_json()["id"])


@asynccontextmanager
async def live_server(app: Any) -> AsyncIterator[str]:
    """``app`` on a real uvicorn at 127.0.0.1 (a free port); yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
