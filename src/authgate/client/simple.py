"""The header-only credentials: none, HTTP Basic, Bearer, API key (header or query)."""

from __future__ import annotations

import base64
from collections.abc import Generator
from typing import Literal
from urllib.parse import quote

import httpx2

from authgate.crypto.secret import Secret

__all__ = ["APIKeyAuth", "BasicAuth", "BearerAuth", "NoAuth"]


class NoAuth(httpx2.Auth):
    """Sends the request as it is (a client-wide auth can be switched off per request)."""

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        yield request

    def __repr__(self) -> str:
        return "NoAuth()"


class BasicAuth(httpx2.Auth):
    """HTTP Basic (RFC 7617) with UTF-8 user and password (``charset="UTF-8"``).

    Also a key pair's ``key:secret`` for authgate.
    """

    def __init__(self, username: str, password: str) -> None:
        if ":" in username:
            raise ValueError("a Basic user name cannot contain ':'")
        self.username = username
        self._password = Secret(password)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        pair = f"{self.username}:{self._password.reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=<redacted>)"


class BearerAuth(httpx2.Auth):
    """``Authorization: Bearer <token>`` (RFC 6750 §2.1)."""

    def __init__(self, token: str) -> None:
        self._token = Secret(token)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=<redacted>)"


class APIKeyAuth(httpx2.Auth):
    """An API key in a header (``X-API-Key`` by default) or a query parameter.

    Args:
        key: the API key.
        name: the header or query parameter name (``X-API-Key`` / ``api_key`` by default).
        location: ``header`` or ``query``.
    """

    def __init__(
        self, key: str, *, name: str | None = None, location: Literal["header", "query"] = "header"
    ) -> None:
        if location not in ("header", "query"):
            raise ValueError("location must be 'header' or 'query'")
        self._key = Secret(key)
        self.location = location
        self.name = name or ("X-API-Key" if location == "header" else "api_key")

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        if self.location == "header":
            request.headers[self.name] = self._key.reveal()
        else:
            query = request.url.query.decode("ascii")
            piece = f"{quote(self.name, safe='')}={quote(self._key.reveal(), safe='')}"
            request.url = request.url.copy_with(
                query=(f"{query}&{piece}" if query else piece).encode("ascii")
            )
        yield request

    def __repr__(self) -> str:
        return f"APIKeyAuth(name={self.name!r}, location={self.location!r}, key=<redacted>)"
