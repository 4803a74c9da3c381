"""Sealing of secrets the server must recompute signatures with (AES-256-GCM).

Sealed values are ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``; the key id inside
each value lets a new master key be added while old values still open (rotation: the
newest key seals, every key in the ring unseals). The record id is bound as associated
data, so a sealed secret cannot be moved to another record.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["MasterKeyRing", "SealError"]


class SealError(Exception):
    """A sealed value could not be opened (unknown key, tampered, malformed)."""


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class MasterKeyRing:
    """Master keys by id; ``active`` seals, all unseal."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError("the active master key is not in the ring")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"master key {kid!r} must be 32 bytes")
            if "." in kid:
                raise ValueError("master key ids must not contain '.'")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active = active

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: str, *, aad: str) -> str:
        """Encrypt ``plaintext`` under the active key, bound to ``aad`` (the record id)."""
        nonce = os.urandom(12)
        ct = self._keys[self.active].encrypt(nonce, plaintext.encode(), aad.encode())
        return f"v1.{self.active}.{_b64e(nonce + ct)}"

    def unseal(self, sealed: str, *, aad: str) -> str:
        """Decrypt a value sealed by any key in the ring; raises :class:`SealError`."""
        try:
            version, kid, payload = sealed.split(".", 2)
            if version != "v1":
                raise SealError("unknown sealed-value version")
            aead = self._keys[kid]
            raw = _b64d(payload)
            return aead.decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except KeyError as exc:
            raise SealError("sealed with a master key that is not in the ring") from exc
        except (ValueError, InvalidTag) as exc:
            raise SealError("sealed value is malformed or was tampered with") from exc

    def __repr__(self) -> str:
        return f"MasterKeyRing(key_ids={self.key_ids!r}, active={self.active!r})"
