"""``authgate certs`` and ``authgate public-keys`` (sub-apps mounted as the lead will)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from tests._pki_material import issue, make_ca, public_pem
from typer.testing import CliRunner

from authgate.cli.app import app as main_app
from authgate.cli.pki import certs_app, public_keys_app

cli = typer.Typer()
cli.add_typer(certs_app, name="certs")
cli.add_typer(public_keys_app, name="public-keys")
runner = CliRunner()


def js(*args: str, app: typer.Typer = cli, ok: bool = True) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert (result.exit_code == 0) is ok, result.output
    return json.loads(result.stdout)


@pytest.fixture
def home() -> None:
    js("init", app=main_app)
    js("users", "create", "alice", app=main_app)


def test_certs_add_list_revoke(home: None, tmp_path: Path) -> None:
    leaf = issue(make_ca(), "alice-client")
    cert_file, key_file = leaf.write(tmp_path, "client")
    added = js("certs", "add", "--user", "alice", "--name", "ci", str(cert_file))
    assert added["user"] == "alice" and added["name"] == "ci" and added["status"] == "active"
    assert added["subject"] == "CN=alice-client,O=authgate tests"
    assert len(added["thumbprint_sha256"]) == 64

    listed = js("certs", "list", "--user", "alice")["certificates"]
    assert [c["id"] for c in listed] == [added["id"]]
    text = runner.invoke(cli, ["certs", "list"]).stdout
    assert "Certificates" in text and "alice" in text  # a table (wrapped to the terminal)

    assert js("certs", "revoke", added["id"])["status"] == "revoked"
    # the key file is refused, and the error says why without echoing it
    bad = js("certs", "add", "--user", "alice", str(key_file), ok=False)
    assert bad["error"] == "invalid_request" and "private key" in bad["error_description"]
    assert "PRIVATE" not in json.dumps(bad)
    missing = js("certs", "revoke", "0" * 32, ok=False)
    assert missing == {"error": "not_found", "error_description": "no such certificate"}


def test_public_keys_add_list_revoke(home: None, tmp_path: Path) -> None:
    pem = tmp_path / "ed.pub"
    pem.write_bytes(public_pem(ed25519.Ed25519PrivateKey.generate()))
    added = js(
        "public-keys",
        "add",
        "--user",
        "alice",
        "--algorithm",
        "ed25519",
        "--key-id",
        "ed-1",
        str(pem),
    )
    assert (added["key_id"], added["algorithm"], added["status"]) == ("ed-1", "ed25519", "active")
    assert js("public-keys", "list")["public_keys"][0]["id"] == added["id"]
    assert js("public-keys", "revoke", added["id"])["status"] == "revoked"

    rsa_pem = tmp_path / "rsa.pub"
    rsa_pem.write_bytes(public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    wrong = js(
        "public-keys",
        "add",
        "--user",
        "alice",
        "--algorithm",
        "ed25519",
        "--key-id",
        "rsa-1",
        str(rsa_pem),
        ok=False,
    )
    assert wrong["error_description"] == "the key is not a ed25519 key"
    nofile = js(
        "public-keys",
        "add",
        "--user",
        "alice",
        "--algorithm",
        "ed25519",
        "--key-id",
        "x",
        str(tmp_path / "absent.pem"),
        ok=False,
    )
    assert "cannot read" in nofile["error_description"]
