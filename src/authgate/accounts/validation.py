"""Validation of names and scopes given by callers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from authgate.errors import InvalidRequest

__all__ = ["ROLES", "normalize_scopes", "validate_key_name", "validate_user_name"]

ROLES = ("admin", "member")
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
# RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
_RESERVED_PREFIXES = ("agk_", "agp_", "ags_")
MAX_SCOPES = 64


def validate_user_name(name: str) -> str:
    if not _USER_NAME.fullmatch(name):
        raise InvalidRequest(
            "user names are 1-128 characters: letters, digits and . _ @ + - "
            "(starting with a letter or digit)"
        )
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise InvalidRequest("user names may not start with a key prefix (agk_, agp_, ags_)")
    return name


def validate_key_name(name: str) -> str:
    if not (0 < len(name) <= 200) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise InvalidRequest("key names are 1-200 printable characters")
    return name


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Deduplicated, sorted scopes; raises InvalidRequest on a malformed one."""
    out = sorted({s.strip() for s in scopes if s.strip()})
    if len(out) > MAX_SCOPES:
        raise InvalidRequest(f"at most {MAX_SCOPES} scopes")
    for s in out:
        if not _SCOPE.fullmatch(s):
            raise InvalidRequest(f"invalid scope {s[:40]!r}: use printable ASCII without spaces")
    return out
