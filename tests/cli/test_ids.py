"""Ids as operators type them (issue 9 item 3): revoke/rotate/delete accept the full id,
a unique prefix (what the tables show) or a key's public prefix (agk_…, agp_…); an
ambiguous prefix is a clear error; --json and --wide show full ids."""

from __future__ import annotations

from pathlib import Path

from tests.cli._support import ajson, authgate, json_error, one_line_error


def _home(tmp_path: Path) -> list[str]:
    home = tmp_path / "h"
    authgate("--home", str(home), "init")
    return ["--home", str(home)]


def test_keys_by_id_prefix_and_public_prefix(tmp_path: Path) -> None:
    h = _home(tmp_path)
    api = ajson(*h, "keys", "create", "--user", "admin", "--name", "one")
    pair = ajson(*h, "keys", "create", "--user", "admin", "--type", "key-pair")
    other = ajson(*h, "keys", "create", "--user", "admin", "--name", "two")
    assert api["prefix"].startswith("agk_") and pair["prefix"].startswith("agp_")

    text = authgate(*h, "keys", "list").stdout
    assert api["id"][:12] in text and api["id"] not in text  # the table shows a prefix
    wide = authgate(*h, "keys", "list", "--wide").stdout
    assert api["id"] in wide and pair["id"] in wide
    listed = ajson(*h, "keys", "list")["keys"]
    assert {k["id"] for k in listed} == {api["id"], pair["id"], other["id"]}

    # the id prefix the table shows
    assert ajson(*h, "keys", "revoke", api["id"][:12])["id"] == api["id"]
    # a key pair's public prefix
    assert ajson(*h, "keys", "revoke", pair["prefix"])["status"] == "revoked"
    # an API key's public prefix, for rotate
    rotated = ajson(*h, "keys", "rotate", other["prefix"], "--grace", "1h")
    assert rotated["id"] != other["id"]
    # a prefix copied with the table's ellipsis still works
    assert ajson(*h, "keys", "revoke", rotated["id"][:10] + "…")["id"] == rotated["id"]


def test_ambiguous_and_unknown_prefixes(tmp_path: Path) -> None:
    h = _home(tmp_path)
    ajson(*h, "keys", "create", "--user", "admin")
    ajson(*h, "keys", "create", "--user", "admin")
    line = one_line_error(authgate(*h, "keys", "revoke", "agk_", ok=False))
    assert "matches 2 keys" in line and "give more characters" in line
    doc = json_error(authgate(*h, "keys", "revoke", "agk_", "--json", ok=False))
    assert doc["error"] == "invalid_request"
    short = one_line_error(authgate(*h, "keys", "revoke", "ab", ok=False))
    assert "at least 4 characters" in short
    missing = json_error(authgate(*h, "keys", "rotate", "ffffffffff", "--json", ok=False))
    assert missing == {"error": "not_found", "error_description": "no such key"}


def test_clients_by_prefix(tmp_path: Path) -> None:
    h = _home(tmp_path)
    a = ajson(*h, "clients", "create", "a", "--grant", "client_credentials")
    b = ajson(*h, "clients", "create", "b", "--grant", "client_credentials")
    wide = authgate(*h, "clients", "list", "--wide").stdout
    assert a["client_id"] in wide and b["client_id"] in wide
    rotated = ajson(*h, "clients", "rotate-secret", a["client_id"][:12])
    assert rotated["client_id"] == a["client_id"]
    ambiguous = one_line_error(authgate(*h, "clients", "delete", "agc_", ok=False))
    assert "matches 2 clients" in ambiguous
    assert ajson(*h, "clients", "delete", b["client_id"][:14])["status"] == "deleted"


def test_public_keys_by_prefix(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    h = _home(tmp_path)
    pem = tmp_path / "ed.pub"
    pem.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    add = ("public-keys", "add", "--user", "admin", "--algorithm", "ed25519", "--key-id", "e1")
    added = ajson(*h, *add, str(pem))
    assert added["id"] not in authgate(*h, "public-keys", "list").stdout
    revoked = ajson(*h, "public-keys", "revoke", added["id"][:8])
    assert revoked["id"] == added["id"] and revoked["status"] == "revoked"
    missing = json_error(authgate(*h, "certs", "revoke", "00000000", "--json", ok=False))
    assert missing == {"error": "not_found", "error_description": "no such certificate"}
