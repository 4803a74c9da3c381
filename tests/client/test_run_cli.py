"""``authgate run`` against a real ``authgate serve``: a collection using every auth type."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._live_server import AUTHGATE, LiveServer

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def auth(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"type": kind, kind: [{"key": k, "value": v} for k, v in attrs.items()]}


def whoami(name: str, auth_: dict[str, Any] | None = None, url: str = "{{whoami}}") -> Any:
    request: dict[str, Any] = {"method": "GET", "url": url + "?b=2&a=1"}
    if auth_ is not None:
        request["auth"] = auth_
    return {"name": name, "request": request}


PAIR = {"accessKey": "{{PAIR_KEY}}", "secretKey": "{{PAIR_SECRET}}"}
QUERY = {"in": "query"}
OAUTH1 = {"consumerKey": "{{PAIR_KEY}}", "consumerSecret": "{{PAIR_SECRET}}"}
EVERY_TYPE = {
    "info": {"name": "every auth type", "schema": SCHEMA},
    "auth": auth("basic", username="{{PAIR_KEY}}", password="{{PAIR_SECRET}}"),
    "variable": [
        {"key": "whoami", "value": "/nowhere"},  # the environment file overrides it
        {"key": "API_KEY", "value": "not-the-key"},  # the process environment overrides it
    ],
    "item": [
        whoami("basic (the collection's)"),
        {"name": "public", "request": {"url": "{{base}}/healthz", "auth": {"type": "noauth"}}},
        {"name": "a bare URL", "request": "{{base}}/healthz"},
        {
            "name": "aws folder",
            "auth": auth("awsv4", **PAIR),
            "item": [
                whoami("awsv4 header (the folder's)"),
                whoami("awsv4 query", auth("awsv4", **PAIR, addAuthDataToQuery=True)),
            ],
        },
        whoami("bearer", auth("bearer", token="{{TOKEN}}")),
        whoami("apikey header", auth("apikey", key="X-API-Key", value="{{API_KEY}}")),
        whoami("apikey query", auth("apikey", key="api_key", value="{{API_KEY}}", **QUERY)),
        whoami("oauth1 header", auth("oauth1", **OAUTH1, signatureMethod="HMAC-SHA256")),
        whoami("oauth1 query", auth("oauth1", **OAUTH1, addParamsToHeader=False)),
        whoami("oauth2 token", auth("oauth2", accessToken="{{TOKEN}}", addTokenTo="header")),
        whoami(
            "oauth2 client credentials",
            auth(
                "oauth2", grant_type="client_credentials", accessTokenUrl="{{base}}/oauth/token",
                clientId="{{CLIENT_ID}}", clientSecret="{{CLIENT_SECRET}}", scope="read",
            ),
        ),
        {
            "name": "post",
            "request": {
                "method": "POST",
                "url": "{{base}}/v1/keys",
                "auth": auth("awsv4", **PAIR),
                "body": {
                    "mode": "raw",
                    "raw": '{"name": "from-run", "scopes": ["read"]}',
                    "options": {"raw": {"language": "json"}},
                },
            },
        },
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("run-cli") / "home"
    query_paths = {"AUTHGATE_API_KEY_QUERY_PATHS": '["/v1/whoami"]'}
    with LiveServer.running(home, query_paths) as server:
        server.cli("users", "create", "svc", "--scopes", "read,keys:write")
        pair = server.cli(
            "keys", "create", "--user", "svc", "--type", "key-pair", "--scopes", "read,keys:write"
        )
        apikey = server.cli("keys", "create", "--user", "svc", "--scopes", "read")
        client = server.cli(
            "clients", "create", "robot", "--grant", "client_credentials", "--scopes", "read"
        )
        env = dict(server.env)
        env.update(
            PAIR_KEY=pair["key"],
            PAIR_SECRET=pair["secret"],
            API_KEY=apikey["key"],
            CLIENT_ID=client["client_id"],
            CLIENT_SECRET=client["client_secret"],
            TOKEN=server.pair_token(pair),
        )
        yield server, env


def run(
    env: dict[str, str], tmp_path: Path, collection: Any, *args: str, environment: Any = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(collection) if not isinstance(collection, str) else collection)
    if environment is not None:
        (tmp_path / "env.json").write_text(json.dumps(environment))
        args = (*args, "--environment", str(tmp_path / "env.json"))
    return subprocess.run(
        [*AUTHGATE, "run", str(path), *args], env=env, capture_output=True, text=True, check=False
    )


def environment(server: LiveServer) -> dict[str, Any]:
    return {
        "name": "ci",
        "values": [
            {"key": "base", "value": server.base, "enabled": True},
            {"key": "whoami", "value": "{{base}}/v1/whoami", "enabled": True},
            {"key": "API_KEY", "value": "still-not-the-key", "enabled": True},
            {"key": "PAIR_KEY", "value": "disabled", "enabled": False},
        ],
    }


def test_every_auth_type_passes(live: tuple[LiveServer, dict[str, str]], tmp_path: Path) -> None:
    server, env = live
    done = run(env, tmp_path, EVERY_TYPE, "--json", environment=environment(server))
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    failures = [r for r in out["requests"] if not r["ok"]]
    assert not failures, failures
    assert out["total"] == out["passed"] == 13 and out["failed"] == 0
    assert [r["status"] for r in out["requests"]][-1] == 201
    for name in ("PAIR_SECRET", "CLIENT_SECRET", "TOKEN", "API_KEY"):
        assert env[name] not in done.stdout + done.stderr


def test_readable_lines_and_a_failure_exits_1(
    live: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = live
    collection = {
        "info": {"name": "c", "schema": SCHEMA},
        "auth": auth("bearer", token="{{TOKEN}}"),
        "item": [
            whoami("inherits bearer"),
            {"name": "F", "auth": {"type": "noauth"}, "item": [whoami("inherits noauth")]},
            whoami("wrong secret", auth("basic", username="{{PAIR_KEY}}", password="wrong-pw")),
            whoami("unset variable", auth("bearer", token="{{NO_SUCH_VARIABLE}}")),
        ],
    }
    done = run({**env, "whoami": f"{server.base}/v1/whoami"}, tmp_path, collection)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("PASS 200 GET    inherits bearer")
    assert lines[1].startswith("FAIL 401 GET    F / inherits noauth")
    assert lines[2].startswith("FAIL 401 GET    wrong secret")
    assert lines[3].startswith("FAIL --- GET    unset variable") and "NO_SUCH_VARIABLE" in lines[3]
    assert lines[4].startswith("4 requests: 1 passed, 3 failed in ")
    assert env["TOKEN"] not in done.stdout and "Traceback" not in done.stderr


def test_unreachable_host_fails_the_request(
    live: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    _, env = live
    collection = {"info": {"schema": SCHEMA}, "item": [whoami("x", url="http://127.0.0.1:1/")]}
    done = run(env, tmp_path, collection, "--json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["failed"] == 1 and out["requests"][0]["status"] is None
    assert out["requests"][0]["error"]


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ("{not json", "is not JSON"),
        ({"item": []}, "is this a Postman collection"),
        ({"info": {"schema": SCHEMA}, "item": [{"name": "x"}]}, "x: neither a request"),
    ],
)
def test_malformed_collection_is_one_line(
    live: tuple[LiveServer, dict[str, str]], tmp_path: Path, collection: Any, message: str
) -> None:
    _, env = live
    done = run(env, tmp_path, collection)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    done = run(env, tmp_path, {"info": {"schema": SCHEMA}}, "--environment", "/no/such.json")
    assert done.stderr.startswith("error: cannot read /no/such.json")
