"""The installation a home belongs to: ``installation.toml`` and the first admin's password.

``$AUTHGATE_HOME/installation.toml`` (mode 0600) records the database URL chosen when the
home was set up (``authgate init``, the first ``authgate serve``, ``authgate db upgrade``),
so later commands given only ``--home`` use the same database. It sits below flags,
environment variables and ``authgate.toml`` in precedence (see docs/configuration.md).

``$AUTHGATE_HOME/initial-admin-password`` (mode 0600) holds the first admin's generated
password, written once by ``init``; the operator stores it and deletes the file.
"""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from authgate.errors import SetupError

__all__ = [
    "INSTALLATION_FILE",
    "PASSWORD_FILE",
    "installation_path",
    "is_initialised",
    "mask_url",
    "read_database_url",
    "record_installation",
    "write_password_file",
]

INSTALLATION_FILE = "installation.toml"
PASSWORD_FILE = "initial-admin-password"  # noqa: S105 - a file name


def installation_path(home: Path) -> Path:
    return home / INSTALLATION_FILE


def is_initialised(home: Path) -> bool:
    """True when ``home`` holds the server secrets (``authgate init`` ran there)."""
    return (home / "secrets.json").is_file()


def read_database_url(home: Path) -> str | None:
    """The database URL recorded in ``installation.toml``; None without one.

    Raises:
        SetupError: the file exists but cannot be read or parsed.
    """
    path = installation_path(home)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        raise SetupError(
            f"cannot read {path}: permission denied; run authgate as the home's owner"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"cannot parse {path} ({exc}): fix or delete the file") from None
    url = data.get("database_url")
    return url if isinstance(url, str) and url else None


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _write_private_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def record_installation(home: Path, database_url: str, version: str) -> Path:
    """Write ``installation.toml`` (0600): the database this home belongs to."""
    path = installation_path(home)
    _write_private_text(
        path,
        "# Written by authgate when this home was set up: the database it belongs to.\n"
        "# --database-url, AUTHGATE_DATABASE_URL and authgate.toml take precedence.\n"
        f"database_url = {_toml_string(database_url)}\n"
        f"created_at = {_toml_string(datetime.now(UTC).isoformat(timespec='seconds'))}\n"
        f"authgate_version = {_toml_string(version)}\n",
    )
    return path


def write_password_file(home: Path, password: str) -> Path:
    """Write the first admin's password to ``initial-admin-password`` (0600)."""
    path = home / PASSWORD_FILE
    _write_private_text(path, password + "\n")
    return path


def mask_url(url: str | None) -> str:
    """``url`` with its password replaced by ``***`` (for printing)."""
    if not url:
        return "-"
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))
    except ValueError:
        return "<unparsable URL>"
