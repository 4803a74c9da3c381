"""Helpers for the OAuth tests: a server whose issuer is the client's base URL, clients."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx2
import pytest

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
