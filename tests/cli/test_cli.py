"""The CLI contract from DESIGN.md, run as a real subprocess on a real AUTHGATE_HOME."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

AUTHGATE = [sys.executable, "-m", "authgate"]


def run(
    home: Path, *args: str, stdin: str | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    proc = subprocess.run(
        [*AUTHGATE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def js(home: Path, *args: str, stdin: str | None = None) -> Any:
    return json.loads(run(home, *args, "--json", stdin=stdin).stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "cli-home"


def test_init_creates_home_and_prints_admin_once(home: Path) -> None:
    out = js(home, "init")
    assert out["admin"]["name"] == "admin" and out["admin"]["role"] == "admin"
    assert len(out["admin"]["password"]) >= 20
    assert (home / "authgate.db").exists() and (home / "secrets.json").exists()
    assert oct((home / "secrets.json").stat().st_mode)[-3:] == "600"
    again = run(home, "init", ok=False)
    assert again.returncode == 1 and "already initialised" in again.stderr
    assert out["admin"]["password"] not in again.stdout + again.stderr


def test_users_and_keys_contract(home: Path) -> None:
    js(home, "init")
    alice = js(home, "users", "create", "alice", "--scopes", "read,write")
    assert alice["role"] == "member" and alice["scopes"] == ["read", "write"]
    bob = js(
        home,
        "users",
        "create",
        "bob",
        "--role",
        "admin",
        "--password-stdin",
        stdin="bobs long password\n",
    )
    assert "password" not in bob and bob["role"] == "admin"
    names = [u["name"] for u in js(home, "users", "list")["users"]]
    assert names == ["admin", "alice", "bob"]

    key = js(
        home,
        "keys",
        "create",
        "--user",
        "alice",
        "--name",
        "ci",
        "--scopes",
        "read",
        "--expires-in",
        "30d",
    )
    assert list(key) == ["id", "type", "key", "prefix", "name", "scopes", "expires_at"]
    assert key["type"] == "api-key" and key["scopes"] == ["read"] and key["name"] == "ci"
    assert re.fullmatch(r"agk_[0-9A-Za-z]{44}", key["key"]) and key["key"].startswith(key["prefix"])
    pair = js(home, "keys", "create", "--user", "alice", "--type", "key-pair")
    assert list(pair) == ["id", "type", "key", "secret", "prefix", "name", "scopes", "expires_at"]
    assert pair["expires_at"] is None

    listed = js(home, "keys", "list", "--user", "alice")["keys"]
    assert {k["id"] for k in listed} == {key["id"], pair["id"]}
    text = run(home, "keys", "list").stdout
    assert key["key"] not in text and pair["secret"] not in json.dumps(listed)

    rotated = js(home, "keys", "rotate", key["id"], "--grace", "24h")
    assert list(rotated) == list(key) and rotated["id"] != key["id"]
    old = next(k for k in js(home, "keys", "list")["keys"] if k["id"] == key["id"])
    assert old["status"] == "active" and old["expires_at"] is not None
    revoked = js(home, "keys", "revoke", pair["id"])
    assert revoked["status"] == "revoked"

    disabled = js(home, "users", "disable", "alice")
    assert disabled["disabled"] is True


def test_errors_are_clear_and_json(home: Path) -> None:
    js(home, "init")
    bad = run(home, "keys", "create", "--user", "nobody", "--json", ok=False)
    assert bad.returncode == 1
    assert json.loads(bad.stdout) == {"error": "not_found", "error_description": "no such user"}
    bad = run(home, "keys", "create", "--user", "admin", "--expires-in", "1w", ok=False)
    assert bad.returncode == 1 and "invalid duration" in bad.stderr
    bad = run(home, "users", "create", "x", "--password-stdin", stdin="short\n", ok=False)
    assert bad.returncode == 1 and "at least 8" in bad.stderr
    bad = run(home, "keys", "revoke", "0" * 32, ok=False)
    assert bad.returncode == 1 and "no such key" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_db_upgrade_and_master_key_rotate(home: Path) -> None:
    assert js(home, "db", "upgrade") == {"status": "upgraded"}
    js(home, "init")
    pair = js(home, "keys", "create", "--user", "admin", "--type", "key-pair")
    kid = js(home, "master-key", "rotate")["active_master_key"]
    secrets = json.loads((home / "secrets.json").read_text())
    assert secrets["active_master_key"] == kid and len(secrets["master_keys"]) == 2
    assert pair["secret"] not in (home / "secrets.json").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_initialises_empty_home_and_shares_data_with_cli(home: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    proc = subprocess.Popen(
        [*AUTHGATE, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        password = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if m := re.search(r"password is in (\S+) \(0600\)", line):
                password = Path(m.group(1)).read_text().strip()
            if "Uvicorn running" in line or "Application startup complete" in line:
                break
        assert password, "serve did not print the first admin's credentials"
        base = f"http://127.0.0.1:{port}"
        with httpx2.Client(base_url=base, timeout=10) as c:
            assert c.get("/healthz").json() == {"status": "ok"}
            me = c.get("/v1/whoami", auth=("admin", password)).json()
            assert me["subject"] == "admin" and me["roles"] == ["admin"]
            created = c.post("/v1/keys", json={"name": "srv"}, auth=("admin", password)).json()
            h = {"X-API-Key": created["key"]}
            assert c.get("/v1/whoami", headers=h).status_code == 200
            # the CLI sees the key the server made, on the same AUTHGATE_HOME
            listed = js(home, "keys", "list")["keys"]
            assert created["id"] in {k["id"] for k in listed}
            c.get("/v1/whoami", headers={"X-API-Key": "agk_nope"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    # audit events queued in memory were flushed at shutdown
    import asyncio

    from sqlalchemy import select

    from authgate.store.db import Database
    from authgate.store.models import AuditEvent

    async def events() -> list[str]:
        db = Database(f"sqlite+aiosqlite:///{home / 'authgate.db'}")
        try:
            async with db.session() as s:
                return list((await s.scalars(select(AuditEvent.event))).all())
        finally:
            await db.dispose()

    seen = asyncio.run(events())
    assert "key.created" in seen and "auth.failure" in seen


def test_keys_temporary(home: Path) -> None:
    js(home, "init")
    out = js(home, "keys", "temporary", "--user", "admin", "--duration", "30m")
    assert out["type"] == "session" and out["session_token"].startswith("agt_")
    assert set(out) >= {"key", "secret", "session_token", "expires_at"}
    bad = run(home, "keys", "temporary", "--user", "admin", "--duration", "24h", ok=False)
    assert bad.returncode == 1 and "15m and 12h" in bad.stderr


def test_signing_keys_list_and_rotate(home: Path) -> None:
    js(home, "init")
    before = js(home, "signing-keys", "list")["signing_keys"]
    assert {k["algorithm"] for k in before} >= {"EdDSA", "RS256"}
    assert all(k["state"] == "active" for k in before)
    out = js(home, "signing-keys", "rotate", "--algorithm", "EdDSA")
    assert len(out["rotated"]) == 1
    states = {k["kid"]: k["state"] for k in out["signing_keys"]}
    assert states[out["rotated"][0]] == "next"  # published before it signs
    again = run(home, "signing-keys", "rotate", "--algorithm", "EdDSA", ok=False)
    assert again.returncode == 1 and "already pending" in again.stderr
    bad = run(home, "signing-keys", "rotate", "--algorithm", "HS256", ok=False)
    assert bad.returncode == 1
