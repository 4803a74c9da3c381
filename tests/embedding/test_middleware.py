"""The middleware embedded in a plain ASGI app, and trusted-proxy handling."""

from __future__ import annotations

import httpx2
import pytest

from authgate.embedding import AuthMiddleware, get_identity
from authgate.embedding.middleware import CLIENT_IP_SCOPE_KEY
from authgate.errors import InvalidCredentials
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import Headers, KeyPairCredential
from authgate.schemes.basic import BasicAuthenticator
from authgate.schemes.chain import SchemeChain

ALICE = Identity(subject="alice", principal_id="u1", scheme="apikey", credential_id="k1")


class OneKey:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return ALICE if key == "agk_good" else None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


async def echo(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    identity = get_identity(scope)
    body = f"{identity.subject if identity else '-'}|{scope[CLIENT_IP_SCOPE_KEY]}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def client(peer: str, proxies: list[str]) -> httpx2.AsyncClient:
    app = AuthMiddleware(
        echo, SchemeChain([ApiKeyAuthenticator(OneKey())]), trusted_proxies=TrustedProxies(proxies)
    )
    transport = httpx2.ASGITransport(app=app, client=(peer, 1000))
    return httpx2.AsyncClient(transport=transport, base_url="http://app")


async def test_identity_reaches_the_app_and_anonymous_passes_as_none() -> None:
    async with client("192.0.2.1", []) as c:
        assert (await c.get("/", headers={"X-API-Key": "agk_good"})).text == "alice|192.0.2.1"
        assert (await c.get("/")).text == "-|192.0.2.1"
        bad = await c.get("/", headers={"X-API-Key": "agk_bad"})
        assert bad.status_code == 401


async def test_forwarded_for_ignored_from_untrusted_peer() -> None:
    async with client("192.0.2.1", ["10.0.0.0/8"]) as c:
        r = await c.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.text == "-|192.0.2.1"


async def test_forwarded_for_used_from_trusted_proxy() -> None:
    async with client("10.1.2.3", ["10.0.0.0/8"]) as c:
        r = await c.get("/", headers={"X-Forwarded-For": "198.51.100.4, 203.0.113.9, 10.9.9.9"})
        assert r.text == "-|203.0.113.9"  # rightmost untrusted hop, not the spoofable leftmost
        r = await c.get("/", headers={"X-Forwarded-For": "not-an-ip"})
        assert r.text == "-|10.1.2.3"


async def test_several_challenges_go_out_in_one_folded_header() -> None:
    # the one error writer (http.asgi.send_error) folds repeated headers as FastAPI's
    # error handler does: one WWW-Authenticate field, challenges comma-separated
    chain = SchemeChain([ApiKeyAuthenticator(OneKey()), BasicAuthenticator(OneKey())])
    transport = httpx2.ASGITransport(app=AuthMiddleware(echo, chain), client=("192.0.2.1", 1))
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as c:
        r = await c.get("/", headers={"Authorization": "Unknown abc"})
    assert r.status_code == 401
    assert r.headers.get_list("www-authenticate") == [", ".join(chain.challenges)]
    assert len(chain.challenges) == 2


def test_proxy_parsing_edge_cases() -> None:
    p = TrustedProxies(["127.0.0.1", "::1/128"])
    assert p.client_ip("127.0.0.1", Headers([("x-forwarded-for", "")])) == "127.0.0.1"
    assert p.client_ip(None, Headers([])) is None
    assert p.client_ip("::1", Headers([("x-forwarded-for", "2001:db8::5")])) == "2001:db8::5"


async def test_chain_never_falls_through_to_anonymous() -> None:
    chain = SchemeChain([ApiKeyAuthenticator(OneKey())])
    from authgate.schemes.base import RequestView

    view = RequestView("GET", "http", "h", "/", "", Headers([("x-api-key", "agk_bad")]))
    with pytest.raises(InvalidCredentials):
        await chain.authenticate(view)


class _Broken(OneKey):
    """A resolver with a bug: stands for any unexpected exception inside a scheme."""

    async def resolve_api_key(self, key: str) -> Identity | None:
        raise OverflowError("int too large to convert to float")


class _Records:
    def __init__(self) -> None:
        self.records: list[object] = []

    async def emit(self, record: object) -> None:
        self.records.append(record)


async def test_unexpected_exception_in_a_scheme_is_audited_and_has_no_traceback() -> None:
    """Issue 8 item 12: an exception a scheme did not expect is still an audited failure."""
    sink = _Records()
    app = AuthMiddleware(echo, SchemeChain([ApiKeyAuthenticator(_Broken())]), audit=sink)  # type: ignore[arg-type]
    transport = httpx2.ASGITransport(app=app, client=("192.0.2.1", 1000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as c:
        r = await c.get("/", headers={"X-API-Key": "agk_any"})
    assert r.status_code == 500
    assert r.json()["error"] == "server_error"
    assert "Traceback" not in r.text and "OverflowError" not in r.text
    assert len(sink.records) == 1
    record = sink.records[0]
    assert record.event == "auth.failure"  # type: ignore[attr-defined]
    assert "OverflowError" in record.detail["reason"]  # type: ignore[attr-defined]


class _NeedsBody:
    """A scheme that signs bodies: the middleware reads the body before it authenticates."""

    name = "bodysig"
    challenge = "BodySig"
    needs_body = True
    cacheable = False
    credential_headers = ("x-body-sig",)
    credential_params: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.seen: list[bytes | None] = []

    def is_present(self, request: object) -> bool:
        return True

    async def authenticate(self, request: object) -> Identity:
        self.seen.append(request.body)  # type: ignore[attr-defined]
        return ALICE


def _http_scope(path: str, raw_path: bytes | None) -> dict[str, object]:
    scope: dict[str, object] = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"app"), (b"x-body-sig", b"s")],
        "client": ("192.0.2.1", 1000),
    }
    if raw_path is not None:
        scope["raw_path"] = raw_path
    return scope


async def test_a_client_that_goes_away_mid_body_is_not_answered() -> None:
    """The one body reader (http.asgi.read_body): a disconnect is nobody to answer."""
    scheme = _NeedsBody()
    app = AuthMiddleware(echo, SchemeChain([scheme]))
    messages = iter([{"type": "http.request", "body": b"ab", "more_body": True}])
    sent: list[object] = []

    async def receive() -> dict[str, object]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: object) -> None:
        sent.append(message)

    await app(_http_scope("/", None), receive, send)  # type: ignore[arg-type]
    assert sent == [] and scheme.seen == []


async def test_the_chain_sees_the_path_the_policy_sees_without_raw_path() -> None:
    """One raw-path reader: a server without raw_path gets the re-encoded path."""
    seen: list[str] = []

    class _Path(_NeedsBody):
        needs_body = False

        async def authenticate(self, request: object) -> Identity:
            seen.append(request.path)  # type: ignore[attr-defined]
            return ALICE

    app = AuthMiddleware(echo, SchemeChain([_Path()]))
    sent: list[object] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        sent.append(message)

    await app(_http_scope("/a b%", None), receive, send)  # type: ignore[arg-type]
    await app(_http_scope("/x/", b"/x%2F?q=1"), receive, send)  # type: ignore[arg-type]
    assert seen == ["/a%20b%25", "/x%2F"]
