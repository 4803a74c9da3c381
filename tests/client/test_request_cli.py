"""``authgate request`` against a real ``authgate serve``: every auth type, --json, -v, errors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._live_server import AUTHGATE, LiveServer, free_port


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    home: Path = tmp_path_factory.mktemp("request-cli") / "home"
    with LiveServer.running(home) as server:
        server.cli("users", "create", "svc", "--scopes", "read")
        pair = server.cli(
            "keys", "create", "--user", "svc", "--type", "key-pair", "--scopes", "read"
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


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AUTHGATE, "request", *args], env=env, capture_output=True, text=True, check=False
    )


PAIR = ("--key", "{{PAIR_KEY}}", "--secret", "{{PAIR_SECRET}}")
CASES = {
    "basic": (
        ("--auth", "basic", "--user", "{{PAIR_KEY}}", "--password", "{{PAIR_SECRET}}"),
        "basic",
    ),
    "apikey": (("--auth", "apikey", "--key", "{{API_KEY}}"), "apikey"),
    "apikey-header-name": (
        ("--auth", "apikey", "--key", "{{API_KEY}}", "--header-name", "X-API-Key"),
        "apikey",
    ),
    "bearer": (("--auth", "bearer", "--token", "{{TOKEN}}"), "bearer"),
    "aws": (("--auth", "aws", *PAIR), "sigv4"),
    "aws-query": (("--auth", "aws", *PAIR, "--in", "query", "--region", "us-east-1"), "sigv4"),
    "hmac": (("--auth", "hmac", *PAIR), "httpsig"),
    "hmac-simple": (("--auth", "hmac", *PAIR, "--hmac-scheme", "simple"), "hmac"),
    "oauth1": (("--auth", "oauth1", *PAIR), "oauth1"),
    "authgate": (("--auth", "authgate", *PAIR), "bearer"),
    "oauth2": (
        (
            "--auth", "oauth2", "--token-url", "{{BASE}}/oauth/token",
            "--client-id", "{{CLIENT_ID}}", "--client-secret", "{{CLIENT_SECRET}}",
            "--scope", "read",
        ),
        "bearer",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_auth_type(live: tuple[LiveServer, dict[str, str]], case: str) -> None:
    server, env = live
    args, scheme = CASES[case]
    env = {**env, "BASE": server.base}
    done = run(env, "GET", "{{BASE}}/v1/whoami?b=2&a=1", *args, "--json", "-v")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == 200, out
    assert out["body"]["scheme"] == scheme
    assert out["body"]["subject"] == (env["CLIENT_ID"] if case == "oauth2" else "svc")
    assert "content-type" in out["headers"]
    assert "> GET http://127.0.0.1" in done.stderr  # -v shows the signed request...
    for name in ("PAIR_SECRET", "CLIENT_SECRET", "TOKEN", "API_KEY"):
        assert env[name] not in done.stderr + done.stdout  # ...never a secret
    if case in ("aws", "basic", "bearer"):
        assert "<redacted>" in done.stderr


def test_headers_data_file_and_readable_output(
    live: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = live
    body = tmp_path / "body.json"
    body.write_text('{"name": "from-cli", "scopes": ["read"]}')
    done = run(
        env, "POST", f"{server.base}/v1/keys", "--auth", "hmac", *PAIR,
        "-H", "Content-Type: application/json", "--data", f"@{body}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("201"), done.stdout
    assert '"name": "from-cli"' in done.stdout
    assert env["PAIR_SECRET"] not in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--auth", "nope"), "--auth must be one of"),
        (("--auth", "aws", "--key", "k"), "--auth aws needs --secret"),
        (("--auth", "basic", "--user", "u", "--password", "{{UNSET_VAR_X}}"), "UNSET_VAR_X"),
        (("--auth", "apikey", "--key", "k", "--in", "cookie"), "--in must be header or query"),
        (("-H", "no colon"), "-H expects"),
        (("--data", "@/no/such/file"), "cannot read /no/such/file"),
    ],
)
def test_bad_options_are_one_line(
    live: tuple[LiveServer, dict[str, str]], args: tuple[str, ...], message: str
) -> None:
    server, env = live
    done = run(env, "GET", f"{server.base}/v1/whoami", *args)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_host_is_one_line(live: tuple[LiveServer, dict[str, str]]) -> None:
    _, env = live
    url = f"http://127.0.0.1:{free_port()}/v1/whoami"
    done = run(env, "GET", url, "--auth", "basic", "--user", "u", "--password", "pw-secret")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach 127.0.0.1:") and done.stderr.count("\n") == 1
    assert "pw-secret" not in done.stderr
    done = run(env, "GET", url, "--json")
    assert json.loads(done.stdout)["error"] == "error"


def test_profile_supplies_auth_options_and_variables(
    live: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, env = live
    env = {**env, "XDG_CONFIG_HOME": str(tmp_path)}
    setting = subprocess.run(
        [
            *AUTHGATE, "profiles", "set", "ci", "--auth", "aws", "-o", "key={{PAIR_KEY}}",
            "-o", "secret={{PAIR_SECRET}}", "-o", "region=us-east-1",
            "--var", f"base={server.base}", "--var", "PAIR_KEY=overridden-by-the-environment",
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert setting.returncode == 0, setting.stderr
    assert env["PAIR_SECRET"] not in (tmp_path / "authgate" / "profiles.toml").read_text()
    done = run(env, "GET", "{{base}}/v1/whoami", "--profile", "ci", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["body"]["scheme"] == "sigv4"
    # the command line wins over the profile's options
    done = run(env, "GET", "{{base}}/v1/whoami", "--profile", "ci", "--auth", "hmac", "--json")
    assert json.loads(done.stdout)["body"]["scheme"] == "httpsig"
    done = run(env, "GET", "{{base}}/v1/whoami", "--profile", "nope")
    assert done.returncode == 1 and "no profile named 'nope'" in done.stderr
