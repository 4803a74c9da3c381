"""``authgate policy check`` and ``authgate policy test`` (the sub-app, as the CLI mounts it)."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from authgate.cli.policy import policy_app

cli = typer.Typer()
cli.add_typer(policy_app, name="policy")
runner = CliRunner()

POLICY = dedent(
    """
    default = "deny"

    [[routes]]
    path = "/health"
    methods = ["GET"]
    anonymous = true

    [[routes]]
    name = "read items"
    path = "/items/{id}"
    methods = ["GET"]
    scopes = ["items:read"]

    [[routes]]
    name = "admin"
    path = "/admin/**"
    roles = ["admin"]
    ip_allow = ["10.0.0.0/8"]
    rate_limit = { rate = "10/s", key = "ip" }
    """
)

PASSING = dedent(
    """
    [[cases]]
    name = "health is public"
    path = "/health"
    expect = "allow"
    route = "GET /health"

    [[cases]]
    name = "dot-dot does not turn /health into /admin"
    path = "/health/../admin"
    client_ip = "10.0.0.1"
    expect = 401
    route = "admin"

    [[cases]]
    name = "reader reads"
    path = "/items/7"
    identity = { subject = "r", scheme = "bearer", scopes = ["items:read"] }
    expect = "allow"

    [[cases]]
    name = "reader without scope"
    path = "/items/7"
    identity = { scopes = ["other"] }
    expect = 403
    error = "insufficient_scope"

    [[cases]]
    name = "admin from outside"
    path = "/admin/x"
    identity = { roles = ["admin"] }
    client_ip = "203.0.113.1"
    expect = "403"
    error = "forbidden"

    [[cases]]
    name = "admin from inside"
    method = "DELETE"
    path = "/admin/x"
    identity = { roles = ["admin"] }
    client_ip = "10.2.3.4"
    expect = "allow"

    [[cases]]
    path = "/a%2fb"
    identity = "none"
    expect = 400
    route = "none"

    [[cases]]
    path = "/unlisted"
    identity = { roles = ["admin"] }
    expect = "deny"
    route = "default"
    """
)

FAILING = dedent(
    """
    cases:
      - name: wrongly expects allow
        path: /admin/x
        identity: {roles: [member]}
        client_ip: 10.0.0.1
        expect: allow
      - name: right
        path: /health
        expect: allow
      - name: wrong error code
        path: /items/1
        identity: {}
        expect: 403
        error: forbidden
    """
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in [
        ("policy.toml", POLICY),
        ("pass.toml", PASSING),
        ("fail.yaml", FAILING),
        ("bad.toml", '[[routes]]\npath = "/a"\nrole = ["x"]\nip_allow = ["10.0.0.1/8"]\n'),
        ("badcases.toml", '[[cases]]\npath = "/a"\nexpect = "maybe"\n'),
    ]:
        out[name] = tmp_path / name
        out[name].write_text(text, encoding="utf-8")
    return out


def invoke(*args: Any) -> Any:
    return runner.invoke(cli, ["policy", *map(str, args)])


def test_check_valid_text(files: dict[str, Path]) -> None:
    result = invoke("check", files["policy.toml"])
    assert result.exit_code == 0, result.output
    assert "is valid: 3 route(s), default deny" in result.stdout


def test_check_valid_json_lists_routes_in_precedence_order(files: dict[str, Path]) -> None:
    result = invoke("check", files["policy.toml"], "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["valid"] is True and out["default"] == "deny"
    assert [r["route"] for r in out["routes"]] == ["GET /health", "read items", "admin"]
    health, _, admin = out["routes"]
    assert health["methods"] == ["GET", "HEAD"] and health["anonymous"] is True
    assert admin["methods"] == "*" and admin["ip_allow"] == ["10.0.0.0/8"]
    assert admin["rate_limit"] == {"rate": "10/s", "burst": None, "key": "ip"}


def test_check_invalid_text(files: dict[str, Path]) -> None:
    result = invoke("check", files["bad.toml"])
    assert result.exit_code == 1
    assert "routes[0].role (path '/a'): unknown key" in result.stderr
    assert "routes[0].ip_allow[0] (path '/a')" in result.stderr


def test_check_invalid_json(files: dict[str, Path]) -> None:
    result = invoke("check", files["bad.toml"], "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["valid"] is False and out["file"].endswith("bad.toml")
    assert len(out["errors"]) == 2


def test_check_missing_file(tmp_path: Path) -> None:
    result = invoke("check", tmp_path / "none.yaml", "--json")
    assert result.exit_code == 1 and "cannot read" in json.loads(result.stdout)["errors"][0]


def test_test_passing_cases(files: dict[str, Path]) -> None:
    result = invoke("test", files["policy.toml"], files["pass.toml"])
    assert result.exit_code == 0, result.stdout
    assert "8 passed, 0 failed" in result.stdout
    assert "PASS  health is public" in result.stdout


def test_test_passing_cases_json(files: dict[str, Path]) -> None:
    result = invoke("test", files["policy.toml"], files["pass.toml"], "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert (out["passed"], out["failed"]) == (8, 0)
    first = out["cases"][0]
    assert first["name"] == "health is public" and first["passed"] is True
    assert first["actual"]["route"] == "GET /health" and first["actual"]["status"] == 200


def test_test_failing_cases_say_which_and_why(files: dict[str, Path]) -> None:
    result = invoke("test", files["policy.toml"], files["fail.yaml"])
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL  wrongly expects allow  → 403 forbidden" in out
    assert "expected allow, got 403" in out and "because: none of the roles admin" in out
    assert "PASS  right" in out
    assert "expected error forbidden, got insufficient_scope" in out
    assert "1 passed, 2 failed" in out


def test_test_failing_cases_json(files: dict[str, Path]) -> None:
    result = invoke("test", files["policy.toml"], files["fail.yaml"], "--json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert (out["passed"], out["failed"]) == (1, 2)
    failed = [c for c in out["cases"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["wrongly expects allow", "wrong error code"]
    assert failed[0]["actual"]["reason"].startswith("none of the roles admin")
    assert failed[0]["failures"][0] == "expected allow, got 403"


def test_test_with_invalid_policy_or_cases(files: dict[str, Path]) -> None:
    bad_policy = invoke("test", files["bad.toml"], files["pass.toml"], "--json")
    assert bad_policy.exit_code == 1 and json.loads(bad_policy.stdout)["valid"] is False
    bad_cases = invoke("test", files["policy.toml"], files["badcases.toml"])
    assert bad_cases.exit_code == 1 and "cases[0].expect" in bad_cases.stderr
