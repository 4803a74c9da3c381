"""The data directory: its server secrets (digest key, master key ring) and first set-up.

``$AUTHGATE_HOME/secrets.json`` (mode 0600) holds the HMAC key for credential digests and
the AES-GCM master keys. Instances sharing a database must share this file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from authgate.crypto.digest import Digester
from authgate.crypto.sealing import MasterKeyRing

__all__ = ["ServerSecrets", "add_master_key", "ensure_home", "load_secrets", "secrets_path"]


def secrets_path(home: Path) -> Path:
    return home / "secrets.json"


@dataclass(frozen=True, slots=True)
class ServerSecrets:
    digester: Digester
    master_keys: MasterKeyRing


def _write_private(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _new_master_key_id() -> str:
    return "mk" + datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)


def ensure_home(home: Path) -> bool:
    """Create the directory and its secrets if missing; True when secrets were created."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = secrets_path(home)
    if path.exists():
        return False
    kid = _new_master_key_id()
    _write_private(
        path,
        {
            "digest_key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "master_keys": {kid: base64.b64encode(secrets.token_bytes(32)).decode()},
            "active_master_key": kid,
        },
    )
    return True


def load_secrets(home: Path) -> ServerSecrets:
    """Read the server secrets; raises FileNotFoundError before ``authgate init``."""
    data = json.loads(secrets_path(home).read_text())
    ring = MasterKeyRing(
        {kid: base64.b64decode(v) for kid, v in data["master_keys"].items()},
        data["active_master_key"],
    )
    return ServerSecrets(Digester(base64.b64decode(data["digest_key"])), ring)


def add_master_key(home: Path) -> str:
    """Add a new master key and make it the one that seals; old keys still unseal."""
    path = secrets_path(home)
    data = json.loads(path.read_text())
    kid = _new_master_key_id()
    data["master_keys"][kid] = base64.b64encode(secrets.token_bytes(32)).decode()
    data["active_master_key"] = kid
    _write_private(path, data)
    return kid
