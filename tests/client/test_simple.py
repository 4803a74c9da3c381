"""NoAuth, BasicAuth, BearerAuth, APIKeyAuth on a mock transport, sync and async."""

from __future__ import annotations

import base64

import httpx2
import pytest

from authgate.client import APIKeyAuth, BasicAuth, BearerAuth, NoAuth


def echo(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(
        200, json={"headers": dict(request.headers), "query": request.url.query.decode()}
    )


def sent(auth: httpx2.Auth, url: str = "http://api.test/v1/whoami") -> dict[str, object]:
    with httpx2.Client(transport=httpx2.MockTransport(echo)) as client:
        body: dict[str, object] = client.get(url, auth=auth).json()
        return body


def test_basic_is_utf8() -> None:
    headers = sent(BasicAuth("zoë", "pässwörd"))["headers"]
    assert isinstance(headers, dict)
    assert headers["authorization"] == "Basic " + base64.b64encode("zoë:pässwörd".encode()).decode(
        "ascii"
    )
    with pytest.raises(ValueError):
        BasicAuth("a:b", "x")


def test_bearer_and_none() -> None:
    assert sent(BearerAuth("tok"))["headers"]["authorization"] == "Bearer tok"  # type: ignore[index]
    assert "authorization" not in sent(NoAuth())["headers"]  # type: ignore[operator]


def test_api_key_header_and_query() -> None:
    assert sent(APIKeyAuth("k1"))["headers"]["x-api-key"] == "k1"  # type: ignore[index]
    assert sent(APIKeyAuth("k1", name="X-Key"))["headers"]["x-key"] == "k1"  # type: ignore[index]
    got = sent(APIKeyAuth("k/1", location="query"), "http://api.test/x?b=2")
    assert got["query"] == "b=2&api_key=k%2F1"
    with pytest.raises(ValueError):
        APIKeyAuth("k", location="body")  # type: ignore[arg-type]


async def test_async_clients_use_the_same_flow() -> None:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(echo)) as client:
        r = await client.get("http://api.test/", auth=BearerAuth("tok"))
    assert r.json()["headers"]["authorization"] == "Bearer tok"
