"""A master key ring follows ``secrets.json``: rotations made by another process are
picked up (one ``stat`` per check), an id still unknown afterwards is logged once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from authgate.crypto.sealing import SealError
from authgate.home import add_master_key, ensure_home, load_secrets


def test_a_key_id_still_unknown_after_reload_is_logged_once_without_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    ensure_home(home)
    ring = load_secrets(home).master_keys
    elsewhere = tmp_path / "elsewhere"  # another home: its keys are not in this ring
    ensure_home(elsewhere)
    foreign = load_secrets(elsewhere).master_keys.seal("ags_topsecret", aad="c1")
    with caplog.at_level(logging.WARNING, logger="authgate.crypto"):
        for _ in range(3):
            with pytest.raises(SealError):
                ring.unseal(foreign, aad="c1")
    unknown = [r for r in caplog.records if "not in the ring even after a reload" in r.message]
    assert len(unknown) == 1
    assert "topsecret" not in caplog.text
    assert json.loads((elsewhere / "secrets.json").read_text())["active_master_key"] in (
        unknown[0].getMessage()
    )


def test_a_ring_follows_rotations_of_its_secrets_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    ensure_home(home)
    server_ring = load_secrets(home).master_keys
    first = server_ring.active
    kid = add_master_key(home)  # as `authgate master-key rotate` does, from "outside"
    sealed = load_secrets(home).master_keys.seal("ags_new", aad="c2")
    with caplog.at_level(logging.WARNING, logger="authgate.crypto"):
        assert server_ring.unseal(sealed, aad="c2") == "ags_new"
    assert "master keys reloaded" in caplog.text and kid in caplog.text
    assert server_ring.active == kid and first in server_ring.key_ids
    # nothing changed since: no second reload
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="authgate.crypto"):
        assert server_ring.seal("x", aad="c3").startswith(f"v1.{kid}.")
    assert "reloaded" not in caplog.text
