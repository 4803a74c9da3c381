"""``authgate master-key rotate`` while a server runs: the server picks the new key up.

A real ``authgate serve`` process and the CLI as separate processes on one AUTHGATE_HOME,
as an operator runs them; nothing is restarted.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import select
from tests.cli.test_cli import _free_port, js

from authgate.store.db import Database
from authgate.store.models import Credential

AUTHGATE = [sys.executable, "-m", "authgate"]


def _start_server(home: Path, port: int) -> tuple[subprocess.Popen[str], str, list[str]]:
    """A running ``authgate serve``, its first admin's password and its output so far."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    proc = subprocess.Popen(
        [*AUTHGATE, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    password = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if m := re.search(r"password is in (\S+) \(0600\)", line):
            password = Path(m.group(1)).read_text().strip()
        if "Application startup complete" in line or proc.poll() is not None:
            break
    assert password, "".join(lines)
    return proc, password, lines


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


async def _sealed_under(home: Path, credential_id: str) -> str:
    db = Database(f"sqlite+aiosqlite:///{home / 'authgate.db'}")
    try:
        async with db.session() as s:
            sealed = await s.scalar(
                select(Credential.secret_sealed).where(Credential.id == credential_id)
            )
    finally:
        await db.dispose()
    assert sealed is not None
    return sealed.split(".")[1]


def test_running_server_uses_key_pairs_sealed_under_a_master_key_rotated_after_it_started(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    port = _free_port()
    proc, password, _ = _start_server(home, port)
    try:
        kid = js(home, "master-key", "rotate")["active_master_key"]
        pair: dict[str, Any] = js(home, "keys", "create", "--user", "admin", "--type", "key-pair")
        assert asyncio.run(_sealed_under(home, pair["id"])) == kid
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            # key:secret over Basic needs the secret unsealed under the new master key
            me = c.get("/v1/whoami", auth=(pair["key"], pair["secret"]))
            assert me.status_code == 200, me.text
            assert me.json()["credential_id"] == pair["id"]
            # and the /auth exchange, which signs nothing but checks the same secret
            tokens = c.post("/auth", json={"api_key": pair["key"], "api_secret": pair["secret"]})
            assert tokens.status_code == 200, tokens.text
            # what the server seals from now on is sealed under the new key too
            made = c.post(
                "/v1/keys", json={"name": "srv", "type": "key-pair"}, auth=("admin", password)
            )
            assert made.status_code in (200, 201), made.text
            assert asyncio.run(_sealed_under(home, made.json()["id"])) == kid
    finally:
        out = _stop(proc)
    assert "master keys reloaded" in out  # the operator can see it happen
    assert pair["secret"] not in out
