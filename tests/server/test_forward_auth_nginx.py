"""Forward auth for real: client → nginx (``auth_request``) → ``authgate serve`` ``/verify``
→ a test upstream that answers with what it received.

nginx runs the configuration of docs/forward-auth.md exactly, with free ports put in place
of the documented ones, so the documented configuration is the tested one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from tests._live_server import LiveServer, wait_until
from tests._nginx import EchoUpstream, free_port, nginx_binary, running_nginx

DOC = Path(__file__).resolve().parents[2] / "docs" / "forward-auth.md"


def documented_config() -> str:
    """The ```nginx block of docs/forward-auth.md."""
    found = re.search(r"```nginx\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert found, "docs/forward-auth.md has no nginx block"
    return found.group(1)


@dataclass
class Stack:
    base: str  # nginx, as the client sees it
    live: LiveServer
    upstream: EchoUpstream
    key: dict[str, Any]
    pair: dict[str, Any]

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.get(self.base + path, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx_binary()  # skip (or fail under CI) before starting anything
    tmp = tmp_path_factory.mktemp("forward")
    env = {"AUTHGATE_TRUSTED_PROXIES": '["127.0.0.1/32"]'}
    with LiveServer.running(tmp / "home", env) as live, EchoUpstream() as upstream:
        live.cli("users", "create", "alice", "--scopes", "orders:read,orders:write")
        key = live.cli("keys", "create", "--user", "alice", "--scopes", "orders:read")
        pair = live.cli("keys", "create", "--user", "alice", "--type", "key-pair")
        port = free_port()
        config = (
            documented_config()
            .replace("127.0.0.1:8081", f"127.0.0.1:{port}")
            .replace("127.0.0.1:8000", f"127.0.0.1:{live.port}")
            .replace("127.0.0.1:8080", f"127.0.0.1:{upstream.port}")
        )
        nginx_dir = tmp / "nginx"
        nginx_dir.mkdir()
        with running_nginx(nginx_dir, config, port):
            yield Stack(f"http://127.0.0.1:{port}", live, upstream, key, pair)


def _seen(response: httpx2.Response) -> dict[str, Any]:
    """What the upstream received (it answers with it)."""
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = response.json()
    return seen


def test_an_api_key_reaches_the_upstream_with_the_identity(stack: Stack) -> None:
    r = stack.get("/orders/7?b=2&a=1", headers={"X-API-Key": stack.key["key"]})
    seen = _seen(r)
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/orders/7", "b=2&a=1")
    headers = seen["headers"]
    assert headers["x-authgate-subject"] == ["alice"]
    assert headers["x-authgate-scheme"] == ["apikey"]
    assert headers["x-authgate-credential"] == [stack.key["id"]]
    assert headers["x-authgate-scopes"] == ["orders:read"]
    assert headers["x-authgate-principal"][0]


def test_identity_headers_sent_by_the_client_never_reach_the_upstream(stack: Stack) -> None:
    forged = {
        "X-API-Key": stack.key["key"],
        "X-Authgate-Subject": "root",
        "X-Authgate-Scopes": "authgate:admin",
    }
    headers = _seen(stack.get("/orders", headers=forged))["headers"]
    assert headers["x-authgate-subject"] == ["alice"]
    assert headers["x-authgate-scopes"] == ["orders:read"]


def test_no_credentials_is_401_with_the_challenge_and_the_upstream_never_sees_it(
    stack: Stack,
) -> None:
    before = stack.upstream.requests
    r = stack.get("/orders", headers={"X-Authgate-Subject": "root"})
    assert r.status_code == 401
    assert r.headers.get("www-authenticate")
    r = stack.get("/orders", headers={"X-API-Key": stack.key["key"][:-3] + "abc"})
    assert r.status_code == 401
    assert stack.upstream.requests == before


def test_sigv4_signed_by_botocore_for_the_original_request_verifies_through_nginx(
    stack: Stack,
) -> None:
    url = stack.base + "/orders/7?b=2&a=1"
    request = AWSRequest(method="GET", url=url, data=b"")
    credentials = Credentials(stack.pair["key"], stack.pair["secret"])
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    signed = dict(request.headers.items())
    headers = _seen(httpx2.get(url, headers=signed, timeout=10))["headers"]
    assert headers["x-authgate-scheme"] == ["sigv4"]
    # the same signature on another path is refused
    other = httpx2.get(stack.base + "/orders/8?b=2&a=1", headers=signed, timeout=10)
    assert other.status_code in (401, 403)


def test_a_revoked_key_is_refused_through_nginx(stack: Stack) -> None:
    issued = stack.live.cli("keys", "create", "--user", "alice", "--scopes", "orders:read")
    headers = {"X-API-Key": issued["key"]}
    assert stack.get("/orders", headers=headers).status_code == 200
    stack.live.cli("keys", "revoke", issued["id"])
    # the change feed brings the CLI's revocation to the running server within 1 s
    wait_until(lambda: stack.get("/orders", headers=headers).status_code == 401, timeout=2)


def test_verify_called_directly_by_a_client_is_refused(tmp_path: Path) -> None:
    # a server that trusts no proxy: the caller of /verify is not a proxy
    with LiveServer.running(tmp_path / "home") as live:
        live.cli("users", "create", "bob")
        key = live.cli("keys", "create", "--user", "bob")
        r = live.http.get(
            "/verify", headers={"X-API-Key": key["key"], "X-Original-URI": "/anything"}
        )
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
