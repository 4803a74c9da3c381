"""``authgate profiles``: the file (XDG, mode 0600), secrets by reference, redaction."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authgate.cli import app
from authgate.client.profiles import Profile, load_profiles, profiles_path, save_profiles

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "authgate" / "profiles.toml"


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["profiles", *args])
    return result.exit_code, result.output


AWS = ("--auth", "aws", "-o", "key=AKIDEXAMPLE", "-o", "secret={{PROD_SECRET}}")


def test_set_writes_the_xdg_file_with_mode_0600(config: Path) -> None:
    code, out = cli("set", "prod", *AWS, "-o", "region=eu-west-1", "--var", "base=https://x")
    assert code == 0, out
    assert profiles_path() == config and config.exists()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert load_profiles(config)["prod"] == Profile(
        "aws",
        {"key": "AKIDEXAMPLE", "secret": "{{PROD_SECRET}}", "region": "eu-west-1"},
        {"base": "https://x"},
    )


def test_a_plain_text_secret_needs_store_secret(config: Path) -> None:
    for option in ("secret=hunter2-secret", "client-secret=cs", "password=pw", "token=t"):
        code, out = cli("set", "p", "-o", option)
        assert code == 1 and "would be written in plain text" in out, out
        assert "hunter2-secret" not in out
    assert not config.exists()
    code, out = cli("set", "k", "--auth", "apikey", "-o", "key=plain-api-key")
    assert code == 1 and "key would be written in plain text" in out
    code, out = cli(
        "set", "p", "--auth", "basic", "-o", "password=hunter2-secret", "--store-secret"
    )
    assert code == 0, out
    assert "hunter2-secret" in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_show_redacts_stored_secrets_and_keeps_references(config: Path) -> None:
    cli(
        "set", "p", "--auth", "basic", "-o", "user=me", "-o", "password=hunter2-x", "--store-secret"
    )
    cli("set", "prod", *AWS)
    code, out = cli("show", "p")
    assert (
        code == 0 and "hunter2-x" not in out and "password=<redacted>" in out and "user=me" in out
    )
    code, out = cli("show", "prod", "--json")
    assert json.loads(out) == {
        "name": "prod",
        "auth": "aws",
        "options": {"key": "AKIDEXAMPLE", "secret": "{{PROD_SECRET}}"},
        "variables": {},
    }
    assert "hunter2-x" not in repr(load_profiles(config)["p"])


def test_list_and_delete(config: Path) -> None:
    code, out = cli("list", "--json")
    assert code == 0 and json.loads(out) == []
    cli("set", "a", *AWS)
    cli("set", "b", "--var", "x=1")
    code, out = cli("list", "--json")
    assert [p["name"] for p in json.loads(out)] == ["a", "b"]
    assert json.loads(out)[0] == {
        "name": "a", "auth": "aws", "options": ["key", "secret"], "variables": []
    }  # fmt: skip
    code, out = cli("list")
    assert code == 0 and "aws" in out
    code, out = cli("delete", "a")
    assert code == 0 and "profile a deleted" in out
    assert list(load_profiles(config)) == ["b"]
    code, out = cli("delete", "a")
    assert code == 1 and "no profile named 'a'" in out
    code, out = cli("show", "nope")
    assert code == 1 and "no profile named 'nope'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--auth", "nope"), "--auth must be one of"),
        (("-o", "colour=red"), "unknown option 'colour'"),
        (("-o", "novalue"), "-o expects NAME=VALUE"),
        (("--var", "=x"), "--var expects NAME=VALUE"),
    ],
)
def test_bad_set_options_are_one_line(config: Path, args: tuple[str, ...], message: str) -> None:
    code, out = cli("set", "p", *args)
    assert code == 1 and out.count("\n") == 1 and message in out, out


def test_a_broken_file_is_one_line(config: Path) -> None:
    config.parent.mkdir(parents=True)
    config.write_text("[profiles.p\n")
    code, out = cli("list")
    assert code == 1 and out.startswith("error: cannot read") and "Traceback" not in out


def test_round_trip_of_awkward_strings(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    odd = 'quote " backslash \\ newline \n unicode é {{X}}'
    save_profiles(path, {"we ird.name": Profile(None, {"scope": odd}, {"v-1": odd})})
    assert load_profiles(path) == {"we ird.name": Profile(None, {"scope": odd}, {"v-1": odd})}
