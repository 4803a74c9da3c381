"""`authgate keys create` without `--scopes` prints the scopes the key got (issue 8 item 2):
the owner's, plus `authgate:admin` for an admin; a scopeless member's key has none."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import js, run


def test_keys_create_without_scopes_shows_the_owners(tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    js(home, "init")
    run(home, "users", "create", "alice", "--scopes", "read,write")
    run(home, "users", "create", "plain")
    assert js(home, "keys", "create", "--user", "alice")["scopes"] == ["read", "write"]
    assert js(home, "keys", "create", "--user", "admin")["scopes"] == ["authgate:admin"]
    assert js(home, "keys", "create", "--user", "plain")["scopes"] == []
    temporary = js(home, "keys", "temporary", "--user", "alice", "--scopes", "read")
    assert temporary["scopes"] == ["read"]
    bad = run(home, "keys", "create", "--user", "alice", "--scopes", "authgate:admin", ok=False)
    assert bad.returncode != 0 and "authgate:admin" in bad.stderr
