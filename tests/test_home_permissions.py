"""Files and permissions of AUTHGATE_HOME: private files, a home others cannot write.

The CLI runs as a real subprocess (as an operator would run it) under the usual 022
umask, which would otherwise leave SQLite's files 0644.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from authgate.config import Settings
from authgate.errors import SetupError
from authgate.runtime import LOCAL_ADMIN, Runtime

AUTHGATE = [sys.executable, "-m", "authgate"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["AUTHGATE_HOME"] = str(home)
    return subprocess.run(
        [*AUTHGATE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_fresh_home_is_0700_and_its_database_wal_shm_and_secrets_are_0600(
    tmp_path: Path, usual_umask: None
) -> None:
    home = tmp_path / "fresh"
    rt = await Runtime.open(Settings(home=home), batched_audit=False)
    try:
        # a write while a connection is open: the -wal and -shm files exist now
        await rt.users.create(LOCAL_ADMIN, "alice", role="member", password=None)
        assert _mode(home) == 0o700
        for name in ("authgate.db", "authgate.db-wal", "authgate.db-shm", "secrets.json"):
            assert (home / name).exists(), name
            assert _mode(home / name) == 0o600, f"{name} is {_mode(home / name):04o}"
    finally:
        await rt.close()


def test_cli_init_on_a_fresh_home_writes_only_private_files(tmp_path: Path) -> None:
    home = tmp_path / "cli"
    proc = _cli(home, "init", "--json")
    assert proc.returncode == 0, proc.stderr
    assert _mode(home) == 0o700
    for path in home.iterdir():
        assert _mode(path) == 0o600, f"{path.name} is {_mode(path):04o}"


def test_world_writable_home_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "open"
    home.mkdir()
    os.chmod(home, 0o777)  # noqa: S103 - the insecure home under test
    proc = _cli(home, "init")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "writable by other users (mode 0777)" in lines[0]
    assert f"chmod 700 {home}" in lines[0]
    assert "Traceback" not in proc.stderr
    assert list(home.iterdir()) == []  # nothing was written into it


async def test_group_writable_home_is_refused_by_the_server_too(tmp_path: Path) -> None:
    home = tmp_path / "group"
    home.mkdir()
    os.chmod(home, 0o770)  # noqa: S103 - the insecure home under test
    with pytest.raises(SetupError, match="writable by other users"):
        rt = await Runtime.open(Settings(home=home), batched_audit=False)
        await rt.close()  # only reached when the home was (wrongly) accepted


def test_world_readable_home_is_used_with_a_loud_warning(tmp_path: Path) -> None:
    home = tmp_path / "readable"
    home.mkdir()
    os.chmod(home, 0o755)  # noqa: S103 - the loose home under test
    proc = _cli(home, "init", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: AUTHGATE_HOME" in proc.stderr
    assert "readable by other users (mode 0755)" in proc.stderr
    assert json.loads(proc.stdout)["admin"]["name"] == "admin"
    assert _mode(home / "authgate.db") == 0o600
    assert _mode(home / "secrets.json") == 0o600


def test_existing_loose_database_and_secrets_files_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / "old"
    assert _cli(home, "init").returncode == 0
    os.chmod(home / "authgate.db", 0o644)
    os.chmod(home / "secrets.json", 0o644)
    proc = _cli(home, "users", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert _mode(home / "authgate.db") == 0o600
    assert _mode(home / "secrets.json") == 0o600
    assert "secrets.json was mode 0644" in proc.stderr


@pytest.mark.parametrize(
    "command",
    [("users", "list"), ("db", "upgrade"), ("master-key", "rotate"), ("serve", "--port", "1")],
)
def test_every_command_refuses_a_home_that_became_writable_by_others(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / "later"
    assert _cli(home, "init").returncode == 0
    before = (home / "secrets.json").read_bytes()
    os.chmod(home, 0o777)  # noqa: S103 - the insecure home under test
    proc = _cli(home, *command)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "writable by other users (mode 0777)" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert (home / "secrets.json").read_bytes() == before  # no key was added
