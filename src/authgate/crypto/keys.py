"""Key formats: a fixed prefix, a public id, ≥ 160 random bits and a checksum.

``agk_`` API keys, ``agp_`` key-pair keys and ``ags_`` key-pair secrets look like::

    agk_ 8-char id  30-char secret (≈178 bits)  6-char CRC32
    agk_ Ab3dE6gH   qWeRtY...                   Xy12Za

Everything after the prefix is base62 (safe in headers, URLs, SigV4 scopes and OAuth
base strings). The CRC32 checksum lets us reject typos and garbage before any lookup and
lets secret scanners recognise leaked keys without a database (as GitHub's token format).
The id plus the prefix (``agk_Ab3dE6gH``) is the key's public display prefix; the
database stores only a keyed digest of the whole key.
"""

from __future__ import annotations

import secrets
import zlib
from typing import Final

__all__ = [
    "API_KEY_PREFIX",
    "KEY_PAIR_KEY_PREFIX",
    "KEY_PAIR_SECRET_PREFIX",
    "display_prefix",
    "generate_key",
    "is_well_formed",
]

API_KEY_PREFIX: Final = "agk_"
KEY_PAIR_KEY_PREFIX: Final = "agp_"
KEY_PAIR_SECRET_PREFIX: Final = "ags_"  # noqa: S105 - a prefix, not a secret

_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ALPHABET_SET: Final = frozenset(_ALPHABET)
_ID_LEN: Final = 8
_SECRET_LEN: Final = 30  # 30 * log2(62) ≈ 178.6 bits
_CHECK_LEN: Final = 6
_BODY_LEN: Final = _ID_LEN + _SECRET_LEN
KEY_LENGTH: Final = 4 + _BODY_LEN + _CHECK_LEN


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def _checksum(prefix: str, body: str) -> str:
    return _base62(zlib.crc32((prefix + body).encode("ascii")), _CHECK_LEN)


def generate_key(prefix: str) -> str:
    """A new random key with ``prefix`` (one of the ``*_PREFIX`` constants)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LEN))
    return prefix + body + _checksum(prefix, body)


def is_well_formed(key: str, prefix: str) -> bool:
    """True when ``key`` has the prefix, length, alphabet and checksum of a real key.

    Cheap and safe on any input (non-ASCII, huge): used to refuse garbage before a lookup.
    """
    if len(key) != KEY_LENGTH or not key.startswith(prefix):
        return False
    rest = key[len(prefix) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, check = rest[:_BODY_LEN], rest[_BODY_LEN:]
    return secrets.compare_digest(_checksum(prefix, body).encode(), check.encode())


def display_prefix(key: str) -> str:
    """The public part of a key (prefix + id), safe to store and show."""
    return key[: 4 + _ID_LEN]
