"""Bad input never yields a 500: malformed, duplicated, oversized, non-ASCII → 4xx."""

from __future__ import annotations

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import Accounts

from authgate.crypto.keys import API_KEY_PREFIX, generate_key
from authgate.server import AuthgateServer


async def test_duplicate_authorization_header_400(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("a")
    key = (await accounts.key("a"))["key"]
    headers = [("Authorization", f"ApiKey {key}"), ("Authorization", f"ApiKey {key}")]
    r = await client.get("/v1/whoami", headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_duplicate_api_key_header_400(client: httpx2.AsyncClient) -> None:
    k = generate_key(API_KEY_PREFIX)
    r = await client.get("/v1/whoami", headers=[("X-API-Key", k), ("X-API-Key", k)])
    assert r.status_code == 400


async def test_duplicate_host_header_400(client: httpx2.AsyncClient) -> None:
    r = await client.get("/v1/whoami", headers=[("Host", "a.example"), ("Host", "b.example")])
    assert r.status_code == 400


async def test_two_different_credentials_400(
    client: httpx2.AsyncClient, accounts: Accounts
) -> None:
    await accounts.user("two", password="two passwords")
    key = (await accounts.key("two"))["key"]
    r = await client.get(
        "/v1/whoami", headers={"X-API-Key": key}, auth=httpx2.BasicAuth("two", "two passwords")
    )
    assert r.status_code == 400
    assert "more than one credential" in r.json()["error_description"]


async def test_oversized_credential_headers_413(client: httpx2.AsyncClient) -> None:
    for headers in ({"X-API-Key": "a" * 9000}, {"Authorization": "Bearer " + "b" * 9000}):
        r = await client.get("/v1/whoami", headers=headers)
        assert r.status_code == 413 and r.json()["error"] == "request_too_large"


async def test_unknown_authorization_scheme_401_not_anonymous(client: httpx2.AsyncClient) -> None:
    for value in ("Digest username=x", "Negotiate abc", "garbage", "Bearer a.b.c"):
        r = await client.get("/v1/whoami", headers={"Authorization": value})
        assert r.status_code == 401, value
        assert r.json()["error"] == "invalid_token"


async def test_oversized_and_invalid_bodies(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    await accounts.user("b")
    h = {"X-API-Key": (await accounts.key("b"))["key"]}
    r = await client.post("/v1/keys", content=b"{" + b" " * 70_000 + b"}", headers=h)
    assert r.status_code == 413
    for content in (b"\xff\xfe\xfd", b"{not json", b"[]", b'{"name": 5}', b'{"expires_in": "1w"}'):
        r = await client.post(
            "/v1/keys", content=content, headers={**h, "content-type": "application/json"}
        )
        assert r.status_code == 400, content
        assert r.json()["error"] == "invalid_request"


async def test_errors_carry_no_internals(client: httpx2.AsyncClient, accounts: Accounts) -> None:
    await accounts.user("c")
    h = {"X-API-Key": (await accounts.key("c"))["key"]}
    r = await client.post("/v1/keys", json={"expires_in": -5}, headers=h)
    assert r.status_code == 400
    assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()
    r = await client.get("/no/such/route", headers=h)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


_header_values = st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from([b"authorization", b"x-api-key", b"host", b"x-forwarded-for"]),
    value=_header_values,
    prefix=st.sampled_from([b"", b"Basic ", b"Bearer ", b"ApiKey ", b"agk_"]),
    path=st.sampled_from(["/v1/whoami", "/v1/keys", "/v1/users", "/v1/audit"]),
)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_fuzzed_headers_never_500(
    server: AuthgateServer, name: bytes, value: bytes, prefix: bytes, path: str
) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(name, prefix + value)],
        "client": ("198.51.100.1", 1234),
        "server": ("testserver", 80),
    }
    await server(scope, receive, send)  # type: ignore[arg-type]
    status = sent[0]["status"]
    assert isinstance(status, int) and 400 <= status < 500, (name, prefix + value, status)
