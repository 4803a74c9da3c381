"""Failures are one line naming cause and fix on stderr, exit non-zero, and
``{"error", "error_description"}`` on stdout with --json; AUTHGATE_DEBUG=1 adds the
traceback (issue 9 item 2). Each case runs the installed ``authgate`` on a temp home."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.cli._support import (
    WITHOUT_FILE_OVERRIDE,
    ajson,
    authgate,
    json_error,
    one_line_error,
    pg_execute,
    pg_url,
)

__all__ = ["pg_url"]


def _unprivileged() -> tuple[str, ...]:
    """How to run the CLI so that file modes bind it: as is, or as root without the
    capabilities that override them (setpriv, util-linux)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:  # pragma: no cover - util-linux is everywhere
        pytest.skip("as root, an unreadable file needs setpriv (util-linux) to drop CAP_DAC_*")
    return WITHOUT_FILE_OVERRIDE


def _both(
    *args: str, env: dict[str, str] | None = None, wrapper: Sequence[str] = ()
) -> tuple[str, dict[str, str]]:
    """The text line and the JSON document of the same failing command."""
    line = one_line_error(authgate(*args, ok=False, env=env, wrapper=wrapper))
    doc = json_error(authgate(*args, "--json", ok=False, env=env, wrapper=wrapper))
    assert doc["error_description"] in line
    return line, doc


def test_unreachable_postgresql(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://root@127.0.0.1:1/authgate"
    line, doc = _both("--home", str(tmp_path / "h"), "--database-url", url, "init")
    assert doc["error"] == "database_unreachable"
    assert "cannot connect to the database at" in line and "127.0.0.1:1" in line
    assert "--database-url" in line


def test_missing_database(tmp_path: Path, pg_url: str) -> None:
    url = pg_url + "_missing"
    line, doc = _both("--home", str(tmp_path / "h"), "--database-url", url, "init")
    assert doc["error"] == "database_missing"
    assert "does not exist" in line and "createdb" in line


def test_unparsable_database_url(tmp_path: Path) -> None:
    line, doc = _both("--home", str(tmp_path / "h"), "--database-url", "not a url", "init")
    assert doc["error"] == "invalid_database_url"
    assert "postgresql+asyncpg://" in line


def test_missing_driver_extra(tmp_path: Path) -> None:
    url = "mysql+aiomysql://root@127.0.0.1/authgate"
    line, _doc = _both("--home", str(tmp_path / "h"), "--database-url", url, "init")
    assert "aiomysql" in line and "not installed" in line


def test_unreadable_home(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    os.chmod(home, 0o000)
    try:
        line, doc = _both("--home", str(home), "users", "list", wrapper=_unprivileged())
    finally:
        os.chmod(home, 0o700)
    assert doc["error"] == "permission_denied" and "permission denied" in line


def test_unreadable_secrets(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    os.chmod(home / "secrets.json", 0o000)
    line, doc = _both("--home", str(home), "users", "list", wrapper=_unprivileged())
    assert doc["error"] == "permission_denied" and "secrets.json" in line


def test_damaged_secrets(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    (home / "secrets.json").write_text("{not json")
    line, doc = _both("--home", str(home), "users", "list")
    assert doc["error"] == "invalid_secrets"
    assert "secrets.json is damaged" in line and "backup" in line


def test_read_only_database(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "h"
    ajson("--home", str(home), "--database-url", pg_url, "init")
    name = pg_url.rsplit("/", 1)[1]
    pg_execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    line, doc = _both("--home", str(home), "users", "create", "bob")
    assert doc["error"] == "database_read_only"
    assert "read-only" in line and "writable primary" in line


def test_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "a-file"
    home.write_text("")
    for command in (("init",), ("users", "list"), ("db", "upgrade")):
        line, doc = _both("--home", str(home), *command)
        assert doc["error"] == "home_not_a_directory"
        assert "is a file, not a directory" in line


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    (home / "authgate.toml").write_text('databse_url = "sqlite+aiosqlite:///x.db"\n')
    line, doc = _both("--home", str(home), "users", "list")
    assert doc["error"] == "unknown_setting"
    assert "'databse_url'" in line and str(home / "authgate.toml") in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    args = ("--home", str(tmp_path / "h"), "--database-url", "not a url", "init")
    plain = authgate(*args, ok=False)
    assert "Traceback" not in plain.stderr
    debug = authgate(*args, ok=False, env={"AUTHGATE_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_service_errors_keep_their_codes(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    doc = json_error(authgate("--home", str(home), "users", "enable", "nobody", "--json", ok=False))
    assert doc == {"error": "not_found", "error_description": "no such user"}


def test_unparsable_config_file(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    (home / "authgate.toml").write_text("port = = 3\n")
    line, doc = _both("--home", str(home), "keys", "list")
    assert doc["error"] == "invalid_config" and "TOML syntax" in line


def test_init_twice_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    line, doc = _both("--home", str(home), "init")
    assert doc["error"] == "already_initialised" and "already initialised" in line
