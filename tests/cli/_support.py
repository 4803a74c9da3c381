"""Running the installed ``authgate`` in a subprocess against a temporary home."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# the console script installed next to this interpreter (pip install -e .)
AUTHGATE = str(Path(sys.executable).with_name("authgate"))
PG_ADMIN_DSN = os.environ.get("AUTHGATE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")


#: Runs a command as this user but without the capabilities that let root read and write
#: any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): file modes then apply to root too.
WITHOUT_FILE_OVERRIDE = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env.update(extra)
    return env


def authgate(
    *args: str,
    stdin: str | None = None,
    ok: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    wrapper: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``authgate ARGS`` with no AUTHGATE_* variables unless given in ``env`` (run under
    ``wrapper``, a command prefix such as :data:`WITHOUT_FILE_OVERRIDE`, when given)."""
    proc = subprocess.run(
        [*wrapper, AUTHGATE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(**(env or {})),
        cwd=cwd,
        timeout=120,
        check=False,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def ajson(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    """``authgate ARGS --json``, parsed (the command must succeed)."""
    return json.loads(authgate(*args, "--json", stdin=stdin, env=env).stdout)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: …`` line of a failed command (asserts there is exactly one)."""
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def json_error(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The ``{"error", "error_description"}`` document of a failed ``--json`` command."""
    assert proc.returncode != 0, proc.stdout
    out = json.loads(proc.stdout)
    assert set(out) == {"error", "error_description"}, out
    return dict(out)


def _pg(sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (asyncpg URL); dropped afterwards."""
    name = f"authgate_cli_{uuid.uuid4().hex[:10]}"
    try:
        _pg(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any failure: no server to test with
        pytest.skip(f"PostgreSQL unreachable ({exc!r})")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_execute(sql: str) -> None:
    _pg(sql)
