"""The data directory: its server secrets (digest key, master key ring) and first set-up.

``$AUTHGATE_HOME/secrets.json`` (mode 0600) holds the HMAC key for credential digests and
the AES-GCM master keys. Instances sharing a database must share this file.

Permissions: a new home is created 0700. An existing home that other users can write is
refused — they could replace ``secrets.json`` or the database, or delete them; nothing
inside can be protected then. One that other users can only read is used with a loud
warning: the files in it are 0600 (``secrets.json`` is tightened to 0600 if it is not), so
their contents stay private, and refusing would break homes made by a plain ``mkdir``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from authgate.crypto.digest import Digester
from authgate.crypto.sealing import MasterKeyRing
from authgate.errors import SetupError

__all__ = [
    "ServerSecrets",
    "add_master_key",
    "check_home_permissions",
    "ensure_home",
    "load_secrets",
    "secrets_path",
]

log = logging.getLogger("authgate.home")


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


def check_home_permissions(home: Path) -> None:
    """Refuse a home other users can write; warn (log, stderr) about one they can read.

    Raises:
        SetupError: ``home`` is not a directory, or group or others may write to it.
    """
    st = home.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise SetupError(f"AUTHGATE_HOME {home} is not a directory")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise SetupError(
            f"AUTHGATE_HOME {home} is writable by other users (mode {mode:04o}); "
            f"it holds the master keys and password hashes: run chmod 700 {home}"
        )
    if mode & 0o044:
        # logging's last-resort handler prints warnings to stderr when none is configured
        log.warning(
            "WARNING: AUTHGATE_HOME %s is readable by other users (mode %04o); "
            "it holds the master keys and password hashes: run chmod 700 %s",
            home,
            mode,
            home,
        )


def _tighten_secrets_file(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning(
            "WARNING: %s was mode %04o (readable by other users); now 0600. If other users "
            "could log in here, treat its keys as exposed.",
            path,
            mode,
        )


def ensure_home(home: Path) -> bool:
    """Create the directory (0700) and its secrets (0600) if missing.

    An existing home is checked first (:func:`check_home_permissions`).

    Returns:
        True when the secrets were created.

    Raises:
        SetupError: an existing home other users can write.
    """
    if home.exists():
        check_home_permissions(home)
    else:
        home.mkdir(parents=True, mode=0o700)
        os.chmod(home, 0o700)  # mkdir's mode is filtered by the umask; be exact
    path = secrets_path(home)
    if path.exists():
        _tighten_secrets_file(path)
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


def _master_keys(data: dict[str, object]) -> tuple[dict[str, bytes], str]:
    keys = data["master_keys"]
    assert isinstance(keys, dict)  # noqa: S101 - the file's shape, written by this module
    return {kid: base64.b64decode(v) for kid, v in keys.items()}, str(data["active_master_key"])


class _SecretsFileWatcher:
    """The master keys of ``secrets.json`` when the file changed since the last look.

    The file is replaced atomically on every change (:func:`_write_private`), so its
    inode, size and modification time together tell a change for the cost of a ``stat``.
    """

    def __init__(self, path: Path, seen: os.stat_result) -> None:
        self._path = path
        self._seen = self._signature(seen)

    @staticmethod
    def _signature(st: os.stat_result) -> tuple[int, int, int]:
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def __call__(self) -> tuple[dict[str, bytes], str] | None:
        st = self._path.stat()
        signature = self._signature(st)
        if signature == self._seen:
            return None
        keys = _master_keys(json.loads(self._path.read_text()))
        self._seen = signature
        return keys


def load_secrets(home: Path) -> ServerSecrets:
    """Read the server secrets; raises FileNotFoundError before ``authgate init``.

    The master key ring follows later changes of ``secrets.json`` (``authgate master-key
    rotate`` run while this process lives); see :class:`MasterKeyRing`.
    """
    path = secrets_path(home)
    seen = path.stat()
    data = json.loads(path.read_text())
    keys, active = _master_keys(data)
    ring = MasterKeyRing(keys, active, source=_SecretsFileWatcher(path, seen))
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
