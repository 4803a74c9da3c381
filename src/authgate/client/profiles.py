"""Profiles: named auth settings and ``{{variables}}`` for ``authgate request --profile``.

Stored in ``$XDG_CONFIG_HOME/authgate/profiles.toml`` (``~/.config/authgate/`` when unset),
written with mode 0600 in a 0700 directory::

    [profiles.prod]
    auth = "aws"
    [profiles.prod.options]
    key = "AKIDEXAMPLE"
    secret = "{{PROD_AWS_SECRET}}"
    [profiles.prod.variables]
    base = "https://api.example.com"

A secret option (:data:`SECRET_OPTIONS`) is by default a reference to an environment
variable (``{{NAME}}``), resolved when the profile is used; :func:`check_secrets` refuses a
plain-text secret unless the caller was told to store it.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authgate.client.variables import VARIABLE

__all__ = [
    "SECRET_OPTIONS",
    "Profile",
    "ProfileError",
    "check_secrets",
    "load_profiles",
    "profiles_path",
    "save_profiles",
]

#: Options whose values are secrets: references by default, redacted when shown.
SECRET_OPTIONS = frozenset({"secret", "password", "token", "session_token", "client_secret"})
_REDACTED = "<redacted>"


class ProfileError(ValueError):
    """A profile file that cannot be read, or a profile that cannot be stored."""


@dataclass(slots=True)
class Profile:
    """One profile: an auth type, its options (``request``'s option names), variables."""

    auth: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def secret_names(self) -> set[str]:
        """The options holding secrets (with ``apikey``, the key too)."""
        return set(SECRET_OPTIONS) | ({"key"} if self.auth == "apikey" else set())

    def redacted(self) -> dict[str, Any]:
        """The profile as shown: plain-text secrets replaced, references kept."""
        secret = self.secret_names()
        return {
            "auth": self.auth,
            "options": {
                k: _REDACTED if k in secret and not _is_reference(v) else v
                for k, v in self.options.items()
            },
            "variables": dict(self.variables),
        }

    def __repr__(self) -> str:
        return f"Profile({self.redacted()!r})"


def _is_reference(value: str) -> bool:
    return VARIABLE.fullmatch(value.strip()) is not None


def check_secrets(profile: Profile, *, store_secret: bool) -> None:
    """Refuse a plain-text secret option unless ``store_secret``.

    Raises:
        ProfileError: an option in :meth:`Profile.secret_names` is not a ``{{NAME}}``.
    """
    if store_secret:
        return
    for name in sorted(profile.secret_names() & profile.options.keys()):
        if not _is_reference(profile.options[name]):
            raise ProfileError(
                f"{name} would be written in plain text: give a reference to an environment "
                f"variable ({name}={{{{ENV_NAME}}}}) or --store-secret"
            )


def profiles_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/authgate/profiles.toml`` (``~/.config`` when unset)."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "authgate" / "profiles.toml"


def _strings(table: Any, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ProfileError(f"{where} must be a table of strings")
    return dict(table)


def load_profiles(path: Path) -> dict[str, Profile]:
    """Every profile of ``path`` (none when the file does not exist).

    Raises:
        ProfileError: the file is not valid TOML or not shaped as a profiles file.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from exc
    out = {}
    for name, table in data.get("profiles", {}).items():
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: profiles.{name} must be a table")
        auth = table.get("auth")
        out[name] = Profile(
            auth if isinstance(auth, str) else None,
            _strings(table.get("options", {}), f"{path}: profiles.{name}.options"),
            _strings(table.get("variables", {}), f"{path}: profiles.{name}.variables"),
        )
    return out


def _toml(value: str) -> str:
    # A JSON string (ASCII, \" \\ \n \uXXXX escapes) is a TOML basic string.
    return json.dumps(value)


def save_profiles(path: Path, profiles: Mapping[str, Profile]) -> None:
    """Write ``profiles`` to ``path``, mode 0600 from the start (never briefly readable)."""
    lines = ["# authgate profiles (authgate profiles --help). Mode 0600.", ""]
    for name, p in sorted(profiles.items()):
        lines.append(f"[profiles.{_toml(name)}]")
        if p.auth:
            lines.append(f"auth = {_toml(p.auth)}")
        for table, values in (("options", p.options), ("variables", p.variables)):
            if values:
                lines.append(f"[profiles.{_toml(name)}.{table}]")
                lines.extend(f"{_toml(k)} = {_toml(v)}" for k, v in sorted(values.items()))
        lines.append("")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.chmod(partial, 0o600)  # O_CREAT's mode is masked by the umask; an old file kept its mode
    os.replace(partial, path)
