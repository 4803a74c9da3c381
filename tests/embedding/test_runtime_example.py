"""docs/examples/runtime_app.py under a real uvicorn on a temp home: keyed requests work,
and the audit events and ``last_used_at`` reach the database by the end of shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from authgate import Runtime, Settings
from authgate.runtime import LOCAL_ADMIN
from authgate.store.models import AuditEvent, Credential

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "runtime_app.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _provision(settings: Settings) -> dict[str, Any]:
    async with Runtime.open(settings, batched_audit=False) as rt:
        await rt.users.create(LOCAL_ADMIN, "alice", scopes=["read", "write"])
        issued = await rt.keys.create(LOCAL_ADMIN, user="alice", name="app", scopes=["read"])
        writer = await rt.keys.create(LOCAL_ADMIN, user="alice", name="etl", scopes=["write"])
        return {"reader": issued.as_json(), "writer": writer.as_json()}


async def _read_back(settings: Settings) -> tuple[list[AuditEvent], dict[str, Credential]]:
    async with Runtime.open(settings, batched_audit=False) as rt, rt.db.session() as s:
        events = list((await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())
        keys = {c.id: c for c in (await s.scalars(select(Credential))).all()}
        return events, keys


def test_runtime_example_persists_audit_and_last_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    issued = asyncio.run(_provision(settings))
    reader, writer = issued["reader"], issued["writer"]
    port = _free_port()
    env = {
        **os.environ,
        "AUTHGATE_HOME": str(home),
        # nothing is written on a timer during the test: only closing the runtime writes
        "AUTHGATE_AUDIT_FLUSH_INTERVAL": "3600",
        "AUTHGATE_LAST_USED_FLUSH_INTERVAL": "3600",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(EXAMPLE.parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "runtime_app:app",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    first = http.get("/reports", headers={"X-API-Key": reader["key"]})
                    break
                except httpx2.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        out = proc.stdout.read().decode() if proc.stdout else ""
                        pytest.fail(f"uvicorn did not start: {out}")
                    time.sleep(0.1)
            assert first.status_code == 200, first.text
            assert first.json() == ["q1", "q2"]
            assert http.get("/reports").status_code == 401
            denied = http.post("/reports", headers={"X-API-Key": reader["key"]})
            assert denied.status_code == 403
            created = http.post("/reports", headers={"X-API-Key": writer["key"]})
            assert created.status_code == 201
            assert created.json() == {"created_by": "alice"}
            bad = http.get("/reports", headers={"X-API-Key": "agk_not_a_real_key"})
            assert bad.status_code == 401
            me = http.get("/whoami", headers={"X-API-Key": reader["key"]}).json()
            assert me["subject"] == "alice"
    finally:
        proc.send_signal(signal.SIGTERM)  # graceful: lifespan shutdown closes the runtime
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out = proc.stdout.read().decode() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    # uvicorn exits 0, or re-raises the SIGTERM once its shutdown completed
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete." in out, out
    assert "Traceback" not in out, out

    events, keys = asyncio.run(_read_back(settings))
    by_name = {e.event: e for e in events}
    assert "report.created" in by_name, [e.event for e in events]
    report = by_name["report.created"]
    assert report.credential_id == writer["id"]
    assert report.scheme == "apikey"
    assert report.detail == {"report": "q3"}
    assert any(e.event == "auth.failure" and e.detail.get("path") == "/reports" for e in events)
    assert keys[reader["id"]].last_used_at is not None
    assert keys[writer["id"]].last_used_at is not None


def test_embedding_doc_includes_the_example_verbatim() -> None:
    doc = (ROOT / "docs" / "embedding.md").read_text()
    assert f"```python\n{EXAMPLE.read_text()}```" in doc
