"""``authgate clients ...`` as a real subprocess: the DESIGN.md contract shape exactly."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import js, run


def test_clients_create_list_rotate_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    js(home, "init")
    out = js(home, "clients", "create", "svc", "--grant", "client_credentials", "--scopes", "a,b")
    assert list(out)[:5] == ["client_id", "client_secret", "grants", "redirect_uris", "scopes"]
    assert out["grants"] == ["client_credentials"] and out["scopes"] == ["a", "b"]
    assert out["redirect_uris"] == [] and out["client_secret"].startswith("acs_")
    pub = js(
        home,
        "clients",
        "create",
        "app",
        "--grant",
        "authorization_code",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    )
    assert "client_secret" not in pub and pub["redirect_uris"] == ["http://127.0.0.1/cb"]
    listed = js(home, "clients", "list")["clients"]
    assert {c["client_id"] for c in listed} == {out["client_id"], pub["client_id"]}
    assert all("client_secret" not in c for c in listed)
    rotated = js(home, "clients", "rotate-secret", out["client_id"])
    assert rotated["client_id"] == out["client_id"]
    assert rotated["client_secret"] != out["client_secret"]
    assert js(home, "clients", "delete", out["client_id"])["status"] == "deleted"
    bad = run(home, "clients", "create", "x", "--grant", "password", "--json", ok=False)
    assert bad.returncode != 0 and "invalid_request" in bad.stdout
