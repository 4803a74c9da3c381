"""``Content-Digest`` verification (RFC 9530 §2, algorithms from §5 / §7.2).

The field is a Dictionary (RFC 8941 §3.2) of algorithm → Byte Sequence. ``sha-256`` and
``sha-512`` are the "standard" algorithms; the insecure ones (``md5``, ``sha``, ...) and
unknown keys are ignored, and a field that carries no supported digest fails. Every
supported member present must match the body (RFC 9530 §6.4 allows verifying any; all
is the stricter choice).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from ._sf import Item, StructuredFieldError, parse_dictionary

__all__ = ["is_valid_content_digest"]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


_HASHES: dict[str, Callable[[bytes], bytes]] = {"sha-256": _sha256, "sha-512": _sha512}


def is_valid_content_digest(field_value: str, body: bytes) -> bool:
    """True when ``field_value`` carries at least one supported digest and all match ``body``.

    Args:
        field_value: the combined ``Content-Digest`` field value.
        body: the content as received (before any content decoding).

    Raises:
        StructuredFieldError: the field is not a Dictionary of Byte Sequences.
    """
    members = parse_dictionary(field_value)
    checked = 0
    ok = True
    for name, member in members.items():
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise StructuredFieldError(f"Content-Digest member {name!r} is not a byte sequence")
        digest = _HASHES.get(name)
        if digest is None:
            continue
        checked += 1
        ok &= hmac.compare_digest(digest(body), member.value)
    return checked > 0 and ok
