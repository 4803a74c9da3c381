"""Every command works on one installation: --home/--database-url (or AUTHGATE_HOME,
AUTHGATE_DATABASE_URL) before or after the command, installation.toml remembers the
database, an uninitialised home is refused, serve says what it uses (issue 9 item 1)."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import time
from pathlib import Path

from tests.cli._support import AUTHGATE, ajson, authgate, clean_env, one_line_error, pg_url

__all__ = ["pg_url"]


def test_home_flag_before_or_after_the_command_and_env_name_one_installation(
    tmp_path: Path,
) -> None:
    home = tmp_path / "h"
    out = ajson("--home", str(home), "init")
    assert out["home"] == str(home) and (home / "secrets.json").exists()
    ajson("--home", str(home), "users", "create", "alice")
    after = ajson("users", "list", "--home", str(home))
    equals = ajson("users", "list", f"--home={home}")
    via_env = ajson("users", "list", env={"AUTHGATE_HOME": str(home)})
    for listing in (after, equals, via_env):
        assert [u["name"] for u in listing["users"]] == ["admin", "alice"]
    # the current directory does not matter
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = authgate("--home", str(home), "users", "list", "--json", cwd=elsewhere)
    assert '"alice"' in moved.stdout and not (elsewhere / ".authgate").exists()


def test_installation_toml_records_the_database_chosen_at_init(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "pg-home"
    out = ajson("--home", str(home), "--database-url", pg_url, "init")
    assert out["database_url"] == pg_url
    record = home / "installation.toml"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert f'database_url = "{pg_url}"' in record.read_text()
    assert not (home / "authgate.db").exists()  # nothing went to SQLite
    # later commands with only --home use the same PostgreSQL database
    ajson("--home", str(home), "users", "create", "bob")
    names = [u["name"] for u in ajson("--home", str(home), "users", "list")["users"]]
    assert names == ["admin", "bob"]
    assert not (home / "authgate.db").exists()
    # a flag (or AUTHGATE_DATABASE_URL) wins over installation.toml
    other = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    flagged = ajson("--home", str(home), "--database-url", other, "users", "list")
    assert flagged["users"] == []
    via_env = ajson("--home", str(home), "users", "list", env={"AUTHGATE_DATABASE_URL": other})
    assert via_env["users"] == []


def test_commands_refuse_an_uninitialised_home_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / "never-initialised"
    for command in (("users", "list"), ("keys", "list"), ("master-key", "rotate")):
        line = one_line_error(authgate("--home", str(home), *command, ok=False))
        assert "not an authgate home" in line and f"authgate --home {home} init" in line
    assert not home.exists()  # nothing was created
    home.mkdir(mode=0o700)
    line = one_line_error(authgate("--home", str(home), "clients", "list", ok=False))
    assert "no secrets.json" in line
    assert list(home.iterdir()) == []


def test_db_upgrade_says_which_home_and_database_it_created(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    text = authgate("--home", str(home), "db", "upgrade").stdout
    assert f"Created home {home} for database sqlite+aiosqlite:///{home}/authgate.db" in text
    assert (home / "installation.toml").exists()
    again = authgate("--home", str(home), "db", "upgrade").stdout
    assert "Created" not in again and "up to date" in again


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_home_masked_urls_and_address(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "srv"
    port = _free_port()
    db_url = pg_url.replace("root@", "root:db-sekret@")  # trust auth ignores the password
    proc = subprocess.Popen(
        [
            AUTHGATE,
            "serve",
            "--home",
            str(home),
            "--database-url",
            db_url,
            "--port",
            str(port),
            "--redis-url",
            "redis://:redis-sekret@127.0.0.1:6379/15",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("listening:"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    out = "".join(lines)
    assert f"home:      {home}" in out
    assert re.search(r"database:  postgresql\+asyncpg://root:\*\*\*@127\.0\.0\.1:5432/", out), out
    assert "redis:     redis://:***@127.0.0.1:6379/15" in out
    assert f"listening: http://127.0.0.1:{port}" in out
    assert "sekret" not in out
    assert "password is in" in out  # first run: the admin's password went to a file
    assert "db-sekret" in (home / "installation.toml").read_text()  # 0600, like secrets.json
    assert os.stat(home / "installation.toml").st_mode & 0o077 == 0


def test_init_after_db_upgrade_records_the_database_it_used(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "h"
    authgate("--home", str(home), "db", "upgrade")  # records SQLite in the home
    assert "sqlite+aiosqlite" in (home / "installation.toml").read_text()
    ajson("--home", str(home), "--database-url", pg_url, "init")
    assert pg_url in (home / "installation.toml").read_text()
    names = [u["name"] for u in ajson("--home", str(home), "users", "list")["users"]]
    assert names == ["admin"]
