"""The plain-ASGI ``POST /oauth/token``, ``/oauth/introspect`` and ``/oauth/revoke``
(authgate.server.oauth_asgi): the same answers as their FastAPI twins, the exemption from
the scheme chain on the exact raw path only (RFC 6749 §2.3.1: the Basic header carries a
client), and everything else that applies to every request: header checks, policy, body
limit, audit with the trusted client IP."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from tests._oauth_support import OAuthWorld, basic
from tests.conftest import make_settings

from authgate.oauth.registration import DEVICE_CODE_GRANT
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer
from authgate.server.oauth_asgi import client_authenticating_path
from authgate.store.models import AuditEvent

FORM = "application/x-www-form-urlencoded"
PROXY = "10.0.0.5"


async def audit_events(rt: Runtime, event: str) -> list[AuditEvent]:
    async with rt.db.session() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.event == event))).all())


async def asgi(
    app: Any,
    raw_path: bytes,
    *,
    method: str = "POST",
    headers: Iterable[tuple[bytes, bytes]] = (),
    chunks: Iterable[bytes] | None = (b"",),
    client: tuple[str, int] = ("203.0.113.7", 50000),
) -> tuple[int | None, list[tuple[bytes, bytes]], bytes]:
    """Drive the app with one request whose body arrives in ``chunks`` (None: the client
    disconnects first); returns status, headers and body (None: nothing was sent)."""
    messages: list[dict[str, Any]] = [{"type": "http.disconnect"}]
    if chunks is not None:
        parts = list(chunks)
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(parts) - 1}
            for i, c in enumerate(parts)
        ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": client,
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    if not sent:
        return None, [], b""
    return sent[0]["status"], sent[0]["headers"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
async def client_creds(oauth: OAuthWorld) -> dict[str, str]:
    c = await oauth.register(scopes=["read"])
    return basic(c["client_id"], c["client_secret"])


# -- the fast path answers POST; other methods reach FastAPI ---------------------------------


async def test_post_is_answered_in_plain_asgi_other_methods_reach_fastapi(
    oauth: OAuthWorld, client_creds: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reached: list[str] = []

    async def twin(scope: Any, receive: Any, send: Any) -> None:
        reached.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    monkeypatch.setattr(oauth.server, "api", twin)
    r = await oauth.token({"grant_type": "client_credentials"}, headers=client_creds)
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    token = r.json()["access_token"]
    intro = await oauth.client.post(
        "/oauth/introspect", data={"token": token}, headers=client_creds
    )
    assert intro.status_code == 200 and intro.json()["active"] is True
    revoke = await oauth.client.post("/oauth/revoke", data={"token": token}, headers=client_creds)
    assert revoke.status_code == 200 and revoke.content == b""
    assert reached == []
    for method in ("GET", "HEAD", "PUT"):
        assert (await oauth.client.request(method, "/oauth/token")).status_code == 418
    assert reached == ["GET /oauth/token", "HEAD /oauth/token", "PUT /oauth/token"]


async def test_other_methods_get_fastapis_405(
    oauth: OAuthWorld, client_creds: dict[str, str]
) -> None:
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        # with a client's Basic header too: it never meets the chain's Basic scheme
        r = await oauth.client.get(path, headers=client_creds)
        assert r.status_code == 405 and r.json()["error"] == "http_error", path


TWIN_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("/oauth/token", "no client", {"data": {"grant_type": "client_credentials"}}),
    ("/oauth/token", "wrong secret", {"data": {"grant_type": "client_credentials"}}),
    ("/oauth/token", "two methods", {"data": {"grant_type": "client_credentials"}}),
    ("/oauth/token", "unsupported", {"data": {"grant_type": "password"}}),
    ("/oauth/token", "scope", {"data": {"grant_type": "client_credentials", "scope": "admin"}}),
    ("/oauth/token", "repeated", {"content": b"grant_type=a&grant_type=b"}),
    ("/oauth/token", "json", {"json": {"grant_type": "client_credentials"}}),
    ("/oauth/token", "control", {"content": b"grant_type=client_credentials&scope=a%01"}),
    ("/oauth/token", "query", {"data": {"grant_type": "client_credentials"}}),
    ("/oauth/introspect", "inactive", {"data": {"token": "garbage"}}),
    ("/oauth/introspect", "active", {"data": {"token": "<token>"}}),
    ("/oauth/introspect", "no token", {"data": {"x": "1"}}),
    ("/oauth/introspect", "no client", {"data": {"token": "garbage"}}),
    ("/oauth/revoke", "unknown", {"data": {"token": "garbage"}}),
    ("/oauth/revoke", "no client", {"data": {"token": "garbage"}}),
]


@pytest.mark.parametrize(("path", "case", "request_kw"), TWIN_CASES)
async def test_answers_are_the_fastapi_twins_answers(
    oauth: OAuthWorld, path: str, case: str, request_kw: dict[str, Any]
) -> None:
    c = await oauth.register(scopes=["read"])
    h = basic(c["client_id"], c["client_secret"])
    kw = dict(request_kw)
    if case == "wrong secret":
        kw["headers"] = basic(c["client_id"], "wrong")
    elif case == "two methods":
        kw["headers"] = h
        kw["data"] = {**kw["data"], "client_id": c["client_id"], "client_secret": "x"}
    elif case != "no client":
        kw["headers"] = {**h, **({"content-type": FORM} if "content" in kw else {})}
    if case == "active":
        token = (await oauth.token({"grant_type": "client_credentials"}, headers=h)).json()
        kw["data"] = {"token": token["access_token"]}
    url = path + ("?grant_type=client_credentials" if case == "query" else "")
    transport = httpx2.ASGITransport(app=oauth.server.api, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url=oauth.issuer) as twin:
        expected = await twin.post(url, **kw)
    got = await oauth.client.post(url, **kw)
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    assert got.headers.multi_items() == expected.headers.multi_items()


async def test_token_response_headers_are_the_twins(
    oauth: OAuthWorld, client_creds: dict[str, str]
) -> None:
    transport = httpx2.ASGITransport(app=oauth.server.api)
    async with httpx2.AsyncClient(transport=transport, base_url=oauth.issuer) as twin:
        expected = await twin.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers=client_creds
        )
    got = await oauth.token({"grant_type": "client_credentials"}, headers=client_creds)
    assert got.status_code == expected.status_code == 200
    assert list(got.json()) == list(expected.json())
    assert [k for k, _ in got.headers.multi_items()] == [
        k for k, _ in expected.headers.multi_items()
    ]
    assert got.headers["cache-control"] == "no-store" and got.headers["pragma"] == "no-cache"
    assert got.headers["content-type"] == "application/json"


# -- the exemption from the scheme chain: exact raw paths only --------------------------------


async def test_basic_header_at_the_endpoints_reaches_client_authentication(
    oauth: OAuthWorld, client_creds: dict[str, str]
) -> None:
    # a user's valid Basic credentials are not a client's: invalid_client, not the user
    await oauth.rt.users.create(LOCAL_ADMIN, "alice", password="correct-horse-battery")
    user = basic("alice", "correct-horse-battery")
    r = await oauth.token({"grant_type": "client_credentials"}, headers=user)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic realm=")
    assert (
        await oauth.token({"grant_type": "client_credentials"}, headers=client_creds)
    ).status_code == 200
    # no scheme ran: the one failure recorded is the client authentication's own
    failures = await audit_events(oauth.rt, "auth.failure")
    assert [(e.scheme, e.detail["client_id"]) for e in failures] == [("oauth_client", "alice")]


async def test_device_authorization_skips_the_chain_and_is_answered_by_fastapi(
    oauth: OAuthWorld,
) -> None:
    c = await oauth.register(grants=[DEVICE_CODE_GRANT], scopes=["read"])
    h = basic(c["client_id"], c["client_secret"])
    r = await oauth.client.post("/oauth/device_authorization", data={"scope": "read"}, headers=h)
    assert r.status_code == 200 and r.json()["device_code"], r.text
    wrong = basic(c["client_id"], "wrong")
    r = await oauth.client.post(
        "/oauth/device_authorization", data={"scope": "read"}, headers=wrong
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"  # not the chain's
    encoded = await oauth.client.post(
        "/oauth%2Fdevice_authorization", data={"scope": "read"}, headers=h
    )
    assert encoded.status_code == 401 and encoded.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "path", ["/oauth%2Ftoken", "/oauth/%74oken", "/oauth/token/", "/OAUTH/token"]
)
async def test_security_encoded_variants_are_not_exempt_and_fail_closed(
    oauth: OAuthWorld, client_creds: dict[str, str], path: str
) -> None:
    r = await oauth.client.post(
        path, data={"grant_type": "client_credentials"}, headers=client_creds
    )
    # the scheme chain's Basic scheme met a client's credentials: refused
    assert r.status_code == 401 and r.json()["error"] == "invalid_token", r.text
    failures = await audit_events(oauth.rt, "auth.failure")
    assert len(failures) == 1 and failures[0].detail["status"] == 401


def test_matching_is_on_the_raw_path_up_to_the_query() -> None:
    def scope(raw: bytes | None, path: str) -> dict[str, Any]:
        return {"raw_path": raw, "path": path}

    assert client_authenticating_path(scope(b"/oauth/token", "/oauth/token")) == "/oauth/token"
    assert client_authenticating_path(scope(b"/oauth/revoke?x", "/oauth/revoke")) == (
        "/oauth/revoke"
    )
    assert client_authenticating_path(scope(b"/oauth%2Ftoken", "/oauth/token")) is None
    assert client_authenticating_path(scope(b"/oauth/userinfo", "/oauth/userinfo")) is None
    assert client_authenticating_path(scope(b"//oauth/token", "//oauth/token")) is None
    assert client_authenticating_path(scope(b"/oauth/authorize", "/oauth/authorize")) is None
    # servers without raw_path: the decoded path (as the scheme chain sees it then)
    assert client_authenticating_path(scope(None, "/oauth/introspect")) == "/oauth/introspect"


# -- what applies to every request still applies ----------------------------------------------


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[tuple[Runtime, AuthgateServer]]:
    settings = make_settings(tmp_path, trusted_proxies=[f"{PROXY}/32"])
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        yield rt, AuthgateServer(settings, rt)
    finally:
        await rt.close()


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ([(b"authorization", b"Basic YTpi"), (b"authorization", b"Basic YTpj")], 400, "duplicate"),
        ([(b"host", b"other")], 400, "duplicate host header"),
        ([(b"authorization", b"Basic " + b"A" * 9000)], 413, "credential header too large"),
    ],
    ids=["duplicate-authorization", "duplicate-host", "oversized-credential"],
)
async def test_security_header_checks_apply_and_are_audited_with_the_trusted_ip(
    proxied: tuple[Runtime, AuthgateServer],
    headers: list[tuple[bytes, bytes]],
    status: int,
    reason: str,
) -> None:
    rt, server = proxied
    forwarded = [(b"x-forwarded-for", b"198.51.100.9"), (b"content-type", FORM.encode())]
    got, _, body = await asgi(
        server,
        b"/oauth/token",
        headers=[*headers, *forwarded],
        chunks=[b"grant_type=client_credentials"],
        client=(PROXY, 1234),
    )
    assert got == status and b"access_token" not in body
    [failure] = await audit_events(rt, "auth.failure")
    assert failure.client_ip == "198.51.100.9"  # from X-Forwarded-For of the trusted proxy
    assert reason in failure.detail["reason"] and failure.detail["path"] == "/oauth/token"


POLICY = """
version = 1
default = "deny"

[[routes]]
path = "/oauth/token"
methods = ["POST"]
anonymous = true

[[routes]]
path = "/oauth/revoke"
methods = ["POST"]
anonymous = true
ip_allow = ["198.51.100.0/24"]
"""


async def test_security_the_policy_decides_before_the_endpoint(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    settings = make_settings(tmp_path, policy_file=policy, trusted_proxies=[f"{PROXY}/32"])
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        c = (
            await rt.oauth.clients.create(
                LOCAL_ADMIN, "svc", grants=["client_credentials"], scopes=["read"]
            )
        ).as_json()
        h = basic(c["client_id"], c["client_secret"])
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt), client=(PROXY, 1))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, headers=h
            )
            assert ok.status_code == 200
            # not in the policy: the default denies; no identity, since the chain never ran
            denied = await client.post("/oauth/introspect", data={"token": "x"}, headers=h)
            assert denied.status_code == 401 and denied.json()["error"] == "unauthorized"
            # ip_allow judges the trusted client IP (X-Forwarded-For from the trusted proxy)
            outside = await client.post(
                "/oauth/revoke",
                data={"token": "x"},
                headers={**h, "x-forwarded-for": "192.0.2.1"},
            )
            inside = await client.post(
                "/oauth/revoke",
                data={"token": "x"},
                headers={**h, "x-forwarded-for": "198.51.100.9"},
            )
            assert outside.status_code == 403 and inside.status_code == 200
        denials = await audit_events(rt, "policy.denied")
        assert [(d.detail["path"], d.client_ip) for d in denials] == [
            ("/oauth/introspect", PROXY),
            ("/oauth/revoke", "192.0.2.1"),
        ]
    finally:
        await rt.close()


@pytest.mark.parametrize(
    ("headers", "chunks"),
    [
        ([(b"content-length", b"70000")], [b"grant_type=client_credentials"]),
        ([(b"content-length", b"12x")], [b"grant_type=client_credentials"]),
        ([], [b"grant_type=client_credentials&scope=", *([b"a" * 16384] * 5)]),
    ],
    ids=["declared", "not-a-number", "streamed"],
)
async def test_security_bodies_over_64_kib_are_413(
    oauth: OAuthWorld,
    client_creds: dict[str, str],
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
) -> None:
    auth = client_creds["authorization"].encode()
    status, _, body = await asgi(
        oauth.server,
        b"/oauth/token",
        headers=[(b"authorization", auth), (b"content-type", FORM.encode()), *headers],
        chunks=chunks,
    )
    assert status == 413 and b"request_too_large" in body


async def test_a_client_that_disconnects_first_gets_no_answer(
    oauth: OAuthWorld, client_creds: dict[str, str]
) -> None:
    auth = client_creds["authorization"].encode()
    status, _, _ = await asgi(
        oauth.server, b"/oauth/token", headers=[(b"authorization", auth)], chunks=None
    )
    assert status is None


async def test_unexpected_errors_are_a_generic_500(
    oauth: OAuthWorld,
    client_creds: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(oauth.rt.oauth, "token", broken)
    with caplog.at_level(logging.ERROR, logger="authgate.server"):
        r = await oauth.token({"grant_type": "client_credentials"}, headers=client_creds)
    assert r.status_code == 500
    assert r.json() == {"error": "server_error", "error_description": "Internal error."}
    assert "secret internals" not in r.text and "secret internals" in caplog.text


async def test_not_started_is_503(tmp_path: Path) -> None:
    server = AuthgateServer(make_settings(tmp_path))
    auth = b"Basic " + base64.b64encode(b"a:b")
    status, _, body = await asgi(server, b"/oauth/token", headers=[(b"authorization", auth)])
    assert status == 503 and body == b'{"error":"starting"}'
