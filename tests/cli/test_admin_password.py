"""The first admin's password (issue 9 item 5): init writes it once to a 0600 file in the
home and prints the file's path (never the password); --admin-password-stdin takes it from
stdin; --json keeps admin.password and adds home, database_url, password_file."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.cli._support import ajson, authgate, one_line_error

from authgate.config import Settings
from authgate.runtime import Runtime


async def _password_works(home: Path, password: str) -> bool:
    rt = await Runtime.open(Settings(home=home), batched_audit=False)
    try:
        return await rt.resolver.resolve_password("admin", password) is not None
    finally:
        await rt.close()


async def test_init_writes_the_password_to_a_private_file(tmp_path: Path) -> None:
    home = tmp_path / "h"
    out = authgate("--home", str(home), "init").stdout
    password_file = home / "initial-admin-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 20 and password not in out
    assert str(password_file) in out and f"Initialised {home}" in out
    assert f"Database: sqlite+aiosqlite:///{home}/authgate.db" in out
    assert await _password_works(home, password)
    again = one_line_error(authgate("--home", str(home), "init", ok=False))
    assert "already initialised" in again and password not in again


async def test_init_json_keeps_the_password_and_says_where_it_is(tmp_path: Path) -> None:
    home = tmp_path / "h"
    out = ajson("--home", str(home), "init")
    assert out["home"] == str(home)
    assert out["database_url"] == f"sqlite+aiosqlite:///{home}/authgate.db"
    assert out["password_file"] == str(home / "initial-admin-password")
    assert out["admin"]["name"] == "admin" and out["admin"]["role"] == "admin"
    assert Path(out["password_file"]).read_text().strip() == out["admin"]["password"]
    assert await _password_works(home, out["admin"]["password"])


async def test_admin_password_from_stdin(tmp_path: Path) -> None:
    home = tmp_path / "h"
    chosen = "a long chosen admin password"
    text = authgate("--home", str(home), "init", "--admin-password-stdin", stdin=chosen + "\n")
    assert "password given on stdin" in text.stdout and chosen not in text.stdout
    assert not (home / "initial-admin-password").exists()
    assert await _password_works(home, chosen)
    other = tmp_path / "j"
    out = ajson("--home", str(other), "init", "--admin-password-stdin", stdin=chosen + "\n")
    assert out["password_file"] is None and "password" not in out["admin"]
    weak = one_line_error(
        authgate(
            "--home", str(tmp_path / "k"), "init", "--admin-password-stdin", stdin="x\n", ok=False
        )
    )
    assert "at least 8" in weak
