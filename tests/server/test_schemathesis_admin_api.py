"""Schemathesis over ``/openapi.json`` of a real ``authgate serve``: no 5xx, no traceback.

Issue 8 item 13. The schemathesis CLI (its coverage phase: boundary and schema-violating
values of every parameter and body field; then its fuzzing phase: positive and negative
generated requests) runs every operation and method of the schema against a server
started as users start it: its own process, a temporary home, 127.0.0.1 on a free port,
an admin API key on every request. Checks: ``not_a_server_error`` and ``no_traceback``
(tests/server/_schemathesis_hooks.py); the server's own log must show no traceback
either. The number of cases run is printed and read back from the JSON report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

ROOT = Path(__file__).parents[2]
AUTHGATE = [sys.executable, "-m", "authgate"]
#: Cases per operation and phase: enough to reach every field's edges, small enough for
#: a 2-core machine (~50 operations; the whole run takes well under a minute).
MAX_EXAMPLES = 50


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI"):
            raise RuntimeError("schemathesis is missing: install the test extra")
        pytest.skip("schemathesis is not installed (test extra)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A real ``authgate serve``; yields its base URL, an admin API key and its log file."""
    home = tmp_path / "home"
    env = _env(home)

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [*AUTHGATE, *args, "--json"], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    cli("init")
    key = str(cli("keys", "create", "--user", "admin", "--name", "schemathesis")["key"])
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*AUTHGATE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "authgate serve did not start"
            time.sleep(0.1)
        me = httpx2.get(f"{base}/v1/whoami", headers={"X-API-Key": key}, timeout=5).json()
        assert me["roles"] == ["admin"], me
        yield base, key, log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_no_5xx_and_no_traceback_on_any_operation(
    server: tuple[str, str, Path], tmp_path: Path
) -> None:
    base, key, log = server
    report = tmp_path / "schemathesis.json"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.server._schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            _schemathesis(),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"X-API-Key: {key}",
            "--checks",
            "not_a_server_error,no_traceback",
            "--phases",
            "examples,coverage,fuzzing",
            "--mode",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-deterministic",  # the same cases every run: a failure reproduces
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            "--no-color",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    cases = result["test_cases"]["generated"]
    operations = result["operations"]
    print(
        f"schemathesis: {cases} cases over {operations['tested']} operations"
        f" in {result['running_time']:.0f} s"
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert result["complete"] and not result["failures"] and not result["errors"], result
    assert operations["tested"] == operations["total"] >= 40, operations
    assert cases >= 10 * operations["tested"], result["test_cases"]
    assert httpx2.get(f"{base}/healthz", timeout=5).status_code == 200
    assert "Traceback" not in log.read_text()
