"""PolicyMiddleware behind AuthMiddleware, over httpx2.ASGITransport."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from authgate.audit import AuditRecord
from authgate.embedding import AuthMiddleware, get_identity
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.policy import DECISION_SCOPE_KEY, Decision, PolicyMiddleware, parse_policy
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import KeyPairCredential
from authgate.schemes.chain import SchemeChain

KEYS = {
    "agk_reader": Identity("reader", "u1", "apikey", "k1", scopes=("items:read",)),
    "agk_admin": Identity("root", "u2", "apikey", "k2", scopes=("items:read",), roles=("admin",)),
}


class MemoryKeys:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return KEYS.get(key)

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


POLICY = parse_policy(
    {
        "routes": [
            {"path": "/health", "methods": ["GET"], "anonymous": True},
            {"name": "read items", "path": "/items/**", "methods": ["GET"],
             "scopes": ["items:read"]},
            {"name": "write items", "path": "/items/**", "methods": ["POST"],
             "scopes": ["items:write"]},
            {"name": "admin", "path": "/admin/**", "roles": ["admin"]},
            {"name": "internal", "path": "/internal", "ip_allow": ["10.0.0.0/8"],
             "anonymous": True},
        ]
    }
)  # fmt: skip


async def app(scope: Any, receive: Any, send: Any) -> None:
    identity = get_identity(scope)
    decision: Decision = scope[DECISION_SCOPE_KEY]
    body = f"{identity.subject if identity else '-'}|{decision.route}|{decision.path}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


class Recorder:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def emit(self, record: AuditRecord) -> None:
        self.records.append(record)


def client(
    peer: str = "192.0.2.1", proxies: tuple[str, ...] = (), audit: Recorder | None = None
) -> httpx2.AsyncClient:
    chain = SchemeChain([ApiKeyAuthenticator(MemoryKeys())])
    protected = PolicyMiddleware(app, POLICY, challenges=chain.challenges, audit=audit)
    stack = AuthMiddleware(protected, chain, trusted_proxies=TrustedProxies(proxies))
    transport = httpx2.ASGITransport(app=stack, client=(peer, 1234))
    return httpx2.AsyncClient(transport=transport, base_url="http://app")


READER = {"X-API-Key": "agk_reader"}
ADMIN = {"X-API-Key": "agk_admin"}


async def test_allowed_request_reaches_the_app_with_the_decision() -> None:
    async with client() as c:
        r = await c.get("/health")
        assert r.status_code == 200 and r.text == "-|GET /health|/health"
        r = await c.get("/items/1", headers=READER)
        assert r.status_code == 200 and r.text == "reader|read items|/items/1"


async def test_no_credentials_is_401_with_the_chain_challenges() -> None:
    async with client() as c:
        r = await c.get("/items/1")
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "error_description": "Authentication is required."}
    assert r.headers.get_list("www-authenticate") == ['ApiKey realm="authgate", header="X-API-Key"']
    assert r.headers["cache-control"] == "no-store"


async def test_empty_challenges_are_not_sent() -> None:
    mw = PolicyMiddleware(app, POLICY, challenges=["", 'Basic realm="authgate"'])
    transport = httpx2.ASGITransport(app=mw, client=("192.0.2.1", 1))
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as c:
        r = await c.get("/items/1")
    assert r.headers.get_list("www-authenticate") == ['Basic realm="authgate"']


async def test_several_challenges_are_folded_into_one_header() -> None:
    # one wire shape on every front (http.asgi.send_error, FastAPI's error_response):
    # the challenges in one WWW-Authenticate field, comma-separated (RFC 9110 §11.6.1)
    challenges = ['ApiKey realm="authgate", header="X-API-Key"', 'Basic realm="authgate"']
    mw = PolicyMiddleware(app, POLICY, challenges=challenges)
    transport = httpx2.ASGITransport(app=mw, client=("192.0.2.1", 1))
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as c:
        r = await c.get("/items/1")
    assert r.status_code == 401
    assert r.headers.get_list("www-authenticate") == [", ".join(challenges)]


async def test_insufficient_scope_is_403() -> None:
    async with client() as c:
        r = await c.post("/items/1", headers=READER)
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert "items:write" not in r.text  # the reason stays internal


async def test_forbidden_role_and_default_deny_are_403() -> None:
    async with client() as c:
        r = await c.get("/admin/users", headers=READER)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert (await c.get("/admin/users", headers=ADMIN)).status_code == 200
        r = await c.get("/unlisted", headers=ADMIN)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert (await c.get("/unlisted")).status_code == 401


async def test_invalid_credentials_are_refused_before_policy() -> None:
    async with client() as c:
        r = await c.get("/health", headers={"X-API-Key": "agk_wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("raw", "status", "route"),
    [
        (b"/admin?x=/health", 401, "admin"),
        (b"/admin%23/health", 401, None),
        (b"/health/../admin", 401, "admin"),
        (b"//admin", 401, "admin"),
        (b"/health/%2e%2e/admin", 401, "admin"),
        (b"/health%2f..%2fadmin", 400, None),
        (b"/health/..;/admin", 400, None),
        (b"/health\\..\\admin", 400, None),
        (b"/health%00", 400, None),
    ],
)
async def test_raw_path_tricks_over_the_wire(raw: bytes, status: int, route: str | None) -> None:
    # httpx normalises URLs, so drive the stack with a raw ASGI scope as a server would
    chain = SchemeChain([ApiKeyAuthenticator(MemoryKeys())])
    stack = AuthMiddleware(PolicyMiddleware(app, POLICY, challenges=chain.challenges), chain)
    path, _, query = raw.partition(b"?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": path.decode("latin-1"),
        "raw_path": raw,
        "query_string": query,
        "headers": [(b"host", b"app")],
        "client": ("192.0.2.1", 1),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await stack(scope, receive, send)
    assert sent[0]["status"] == status
    assert scope[DECISION_SCOPE_KEY].route == route
    if status == 400:
        assert b'"invalid_request"' in sent[1]["body"]


async def test_forwarded_uri_headers_are_never_used_for_matching() -> None:
    spoof = {"X-Forwarded-Uri": "/health", "X-Original-URI": "/health", "X-Rewrite-URL": "/health"}
    async with client() as c:
        assert (await c.get("/admin/users", headers=spoof)).status_code == 401
    async with client(peer="10.0.0.5", proxies=("10.0.0.0/8",)) as c:
        assert (await c.get("/admin/users", headers=spoof)).status_code == 401


async def test_ip_allow_uses_the_trusted_client_ip() -> None:
    async with client(peer="192.0.2.1") as c:
        assert (await c.get("/internal")).status_code == 403
        spoofed = await c.get("/internal", headers={"X-Forwarded-For": "10.1.1.1"})
        assert spoofed.status_code == 403  # the peer is not a trusted proxy
    async with client(peer="10.0.0.9") as c:
        assert (await c.get("/internal")).status_code == 200
    async with client(peer="10.0.0.9", proxies=("10.0.0.0/8",)) as c:
        r = await c.get("/internal", headers={"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 403  # the real client is outside


async def test_denials_are_audited() -> None:
    audit = Recorder()
    async with client(audit=audit) as c:
        await c.get("/admin/x", headers=READER)
        await c.get("/health")
    [record] = audit.records
    assert record.event == "policy.denied" and record.outcome == "failure"
    assert record.actor == "reader" and record.credential_id == "k1"
    assert record.client_ip == "192.0.2.1"
    assert record.detail["route"] == "admin" and record.detail["status"] == 403


async def test_without_auth_middleware_everyone_is_anonymous() -> None:
    transport = httpx2.ASGITransport(app=PolicyMiddleware(app, POLICY), client=("10.0.0.1", 1))
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as c:
        assert (await c.get("/health")).status_code == 200
        assert (await c.get("/internal")).status_code == 200  # the peer address
        r = await c.get("/items/1", headers=READER)
        assert r.status_code == 401 and "www-authenticate" not in r.headers


async def test_lifespan_passes_through_and_websocket_is_refused_when_denied() -> None:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    mw = PolicyMiddleware(inner, POLICY)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    await mw({"type": "lifespan"}, receive, send)
    ws = {"type": "websocket", "path": "/admin/ws", "raw_path": b"/admin/ws", "headers": []}
    await mw(ws, receive, send)
    assert seen == ["lifespan"] and sent == [{"type": "websocket.close", "code": 1008}]
    await mw({**ws, "path": "/health", "raw_path": b"/health"}, receive, send)
    assert seen == ["lifespan", "websocket"]


async def test_server_without_raw_path_is_not_decoded_twice() -> None:
    from authgate.policy.middleware import request_path

    assert request_path({"path": "/a%2e%2e/b"}) == "/a%252e%252e/b"
    assert request_path({"path": "/a;b"}) == "/a;b"
    assert request_path({"raw_path": b"/x%2F?q=1", "path": "/x/"}) == "/x%2F"
    assert request_path({}) == "/"
