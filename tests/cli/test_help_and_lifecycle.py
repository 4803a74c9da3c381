"""Help and the user lifecycle (issue 9 item 4): --version; every --help has an example,
the environment variables and typed option names; users enable/delete; a disabled
user's keys show `disabled`; audit list/tail with filters; user.enabled/user.deleted."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import typer
from tests.cli._support import AUTHGATE, ajson, authgate, clean_env, json_error, one_line_error
from tests.conftest import Accounts
from typer.testing import CliRunner

from authgate import __version__
from authgate.cli import app
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.user_removal import delete_user


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        out.append(path)
        if isinstance(getattr(command, "commands", None), dict):
            out.extend(_commands(command, path))  # type: ignore[arg-type]
    return out


def test_version() -> None:
    assert authgate("--version").stdout.strip() == f"authgate {__version__}"


def test_every_help_has_an_example_environment_and_typed_options() -> None:
    root = typer.main.get_command(app)
    paths = _commands(root)
    assert ("users", "delete") in paths and ("audit", "tail") in paths
    runner = CliRunner()
    for path in [(), *paths]:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output)
        text = result.output
        assert "Example:" in text, path
        assert "AUTHGATE_HOME" in text and "AUTHGATE_DATABASE_URL" in text, path
        assert not re.search(r"\b(TEXT|INTEGER|FLOAT)\b", text), (path, text)
        assert "DESIGN.md" not in text and "SECURITY.md" not in text, path
    keys_create = runner.invoke(app, ["keys", "create", "--help"], terminal_width=100).output
    assert "--expires-in DURATION" in keys_create and "--scopes SCOPES" in keys_create
    assert "[default: api-key]" in keys_create
    # and the installed command prints the same
    installed = authgate("keys", "rotate", "--help").stdout
    assert "--grace DURATION" in installed and "Example: authgate keys rotate" in installed


def test_enable_delete_and_disabled_status(tmp_path: Path) -> None:
    h = ["--home", str(tmp_path / "h")]
    authgate(*h, "init")
    ajson(*h, "users", "create", "alice", "--scopes", "read")
    key = ajson(*h, "keys", "create", "--user", "alice")
    pair = ajson(*h, "keys", "create", "--user", "alice", "--type", "key-pair")
    client = ajson(*h, "clients", "create", "svc", "--grant", "client_credentials")
    ajson(*h, "clients", "create", "app", "--grant", "client_credentials", "--user", "alice")

    ajson(*h, "users", "disable", "alice")
    statuses = {k["id"]: k["status"] for k in ajson(*h, "keys", "list")["keys"]}
    assert statuses[key["id"]] == "disabled" and statuses[pair["id"]] == "disabled"
    assert "disabled" in authgate(*h, "keys", "list", "--user", "alice").stdout
    assert ajson(*h, "users", "enable", "alice")["disabled"] is False
    statuses = {k["id"]: k["status"] for k in ajson(*h, "keys", "list")["keys"]}
    assert statuses[key["id"]] == "active"

    refused = one_line_error(authgate(*h, "users", "delete", "alice", ok=False))
    assert "--yes" in refused
    removal = ajson(*h, "users", "delete", "alice", "--yes")
    assert removal["status"] == "deleted" and removal["name"] == "alice"
    assert removal["keys_revoked"] == 2 and removal["clients_deleted"] == 1
    assert [u["name"] for u in ajson(*h, "users", "list")["users"]] == ["admin"]
    assert ajson(*h, "keys", "list")["keys"] == []
    assert [c["client_id"] for c in ajson(*h, "clients", "list")["clients"]] == [
        client["client_id"]
    ]
    gone = json_error(authgate(*h, "users", "delete", "alice", "--yes", "--json", ok=False))
    assert gone["error"] == "not_found"
    own = json_error(authgate(*h, "users", "delete", "admin", "--yes", "--json", ok=False))
    assert own["error"] == "conflict" and "last enabled admin" in own["error_description"]

    events = [e["event"] for e in ajson(*h, "audit", "list", "--event", "user.*")["events"]]
    assert events[:3] == ["user.deleted", "user.disabled", "user.enabled"]
    revoked = ajson(*h, "audit", "list", "--event", "key.revoked")["events"]
    assert {e["credential_id"] for e in revoked} == {key["id"], pair["id"]}
    # the deleted user's key is gone, its history is not
    history = ajson(*h, "audit", "list", "--key", key["id"])["events"]
    assert [e["event"] for e in history] == ["key.revoked", "key.created"]


def test_audit_list_filters_and_tail(tmp_path: Path) -> None:
    h = ["--home", str(tmp_path / "h")]
    authgate(*h, "init")
    ajson(*h, "users", "create", "bob")
    key = ajson(*h, "keys", "create", "--user", "bob")
    ajson(*h, "keys", "create", "--user", "admin")

    by_bob = ajson(*h, "audit", "list", "--user", "bob")["events"]
    assert {e["event"] for e in by_bob} == {"user.created", "key.created"}
    by_key = ajson(*h, "audit", "list", "--key", key["prefix"])["events"]
    assert [e["credential_id"] for e in by_key] == [key["id"]]
    family = ajson(*h, "audit", "list", "--event", "key.*")["events"]
    assert [e["event"] for e in family] == ["key.created", "key.created"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ajson(*h, "audit", "list", "--since", future)["events"] == []
    assert len(ajson(*h, "audit", "list", "--since", "1h")["events"]) == 4
    bad = one_line_error(authgate(*h, "audit", "list", "--since", "yesterday", ok=False))
    assert "--since" in bad

    past = authgate(*h, "audit", "tail", "--no-follow", "-n", "2", "--json").stdout
    assert [json.loads(line)["event"] for line in past.splitlines()] == [
        "key.created",
        "key.created",
    ]
    proc = subprocess.Popen(
        [AUTHGATE, *h, "audit", "tail", "-n", "0", "--interval", "0.2", "--event", "user.*"],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        time.sleep(1.5)  # the tail is running before the event is written
        ajson(*h, "users", "create", "carol")
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "user.created" in line and "carol" in line
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_http_keys_show_disabled_and_delete_revokes(
    runtime: Runtime, accounts: Accounts, client: httpx2.AsyncClient
) -> None:
    await accounts.user("root", role="admin")
    admin = {"X-API-Key": (await accounts.key("root"))["key"]}
    await accounts.user("dora", scopes=["read"])
    dora = await accounts.key("dora")
    await runtime.users.disable(LOCAL_ADMIN, "dora")
    listed = (await client.get("/v1/keys", params={"user": "dora"}, headers=admin)).json()
    assert [k["status"] for k in listed["keys"]] == ["disabled"]
    one = (await client.get(f"/v1/keys/{dora['id']}", headers=admin)).json()
    assert one["status"] == "disabled"
    await runtime.users.enable(LOCAL_ADMIN, "dora")
    dora_h = {"X-API-Key": dora["key"]}
    assert (await client.get("/v1/whoami", headers=dora_h)).status_code == 200
    removal = await delete_user(runtime, LOCAL_ADMIN, "dora")
    assert removal.keys_revoked == 1
    assert (await client.get("/v1/whoami", headers=dora_h)).status_code == 401
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"):
        far = await client.get("/v1/audit", params={"since": edge}, headers=admin)
        assert far.status_code == 200, far.text
    recent = {"event": "key.*", "since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    keys_audit = (await client.get("/v1/audit", params=recent, headers=admin)).json()
    assert {e["event"] for e in keys_audit["events"]} == {"key.created", "key.revoked"}
    audit = (await client.get("/v1/audit", params={"event": "user.*"}, headers=admin)).json()
    assert [e["event"] for e in audit["events"]][:3] == [
        "user.deleted",
        "user.disabled",
        "user.enabled",
    ]
