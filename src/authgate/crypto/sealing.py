"""Sealing of secrets the server must recompute signatures with (AES-256-GCM).

Sealed values are ``v1.<kid>.<base64url(nonce || ciphertext+tag)>``; the key id inside
each value lets a new master key be added while old values still open (rotation: the
newest key seals, every key in the ring unseals). The record id is bound as associated
data, so a sealed secret cannot be moved to another record.

A ring may have a *source* to reload from (``authgate.home`` watches ``secrets.json``):
``authgate master-key rotate`` runs in another process, and a running server must open
values sealed under the new key — and seal under it — without a restart. The ring asks
its source before each seal and whenever a value names a key id it does not hold; the
source answers ``None`` unless the file changed, so a reload costs one ``stat``.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["MasterKeyRing", "RingSource", "SealError"]

log = logging.getLogger("authgate.crypto")

# Returns the ring's keys and active key id when they changed since the last call, else None.
RingSource = Callable[[], "tuple[Mapping[str, bytes], str] | None"]

# Key ids already reported as unknown: each is logged once, and the set stays bounded.
_MAX_REPORTED = 1000


class SealError(Exception):
    """A sealed value could not be opened (unknown key, tampered, malformed)."""


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _ciphers(keys: Mapping[str, bytes], active: str) -> dict[str, AESGCM]:
    if active not in keys:
        raise ValueError("the active master key is not in the ring")
    for kid, key in keys.items():
        if len(key) != 32:
            raise ValueError(f"master key {kid!r} must be 32 bytes")
        if "." in kid:
            raise ValueError("master key ids must not contain '.'")
    return {kid: AESGCM(key) for kid, key in keys.items()}


class MasterKeyRing:
    """Master keys by id; ``active`` seals, all unseal.

    Args:
        keys: master keys (32 bytes each) by key id.
        active: the id of the key that seals.
        source: where a changed ring is read from (see the module docstring); without
            one the ring never changes.
    """

    def __init__(
        self, keys: Mapping[str, bytes], active: str, *, source: RingSource | None = None
    ) -> None:
        # one attribute holds both, so a reload swaps them together for every reader
        self._state = (_ciphers(keys, active), active)
        self._source = source
        self._reload_lock = threading.Lock()
        self._reported: set[str] = set()

    @property
    def active(self) -> str:
        return self._state[1]

    @property
    def key_ids(self) -> list[str]:
        return list(self._state[0])

    def reload(self) -> bool:
        """Ask the source for a changed ring and use it; True when the ring changed.

        A source that fails (unreadable or invalid file) leaves the ring as it was.
        """
        if self._source is None:
            return False
        with self._reload_lock:  # one reader at a time; the others see its result
            try:
                fresh = self._source()
                if fresh is None:
                    return False
                keys, active = fresh
                state = (_ciphers(keys, active), active)
            except Exception as exc:  # keep serving with the keys we have
                log.warning("master keys: reloading failed (%s)", type(exc).__name__)
                return False
            before = set(self._state[0])
            self._state = state
        log.warning(
            "master keys reloaded: %d key(s), active %s, added %s",
            len(state[0]),
            active,
            sorted(set(state[0]) - before) or "none",
        )
        return True

    def seal(self, plaintext: str, *, aad: str) -> str:
        """Encrypt ``plaintext`` under the active key, bound to ``aad`` (the record id)."""
        self.reload()  # a rotation made by another process seals from now on
        ciphers, active = self._state
        nonce = os.urandom(12)
        ct = ciphers[active].encrypt(nonce, plaintext.encode(), aad.encode())
        return f"v1.{active}.{_b64e(nonce + ct)}"

    def unseal(self, sealed: str, *, aad: str) -> str:
        """Decrypt a value sealed by any key in the ring; raises :class:`SealError`."""
        try:
            version, kid, payload = sealed.split(".", 2)
        except ValueError as exc:
            raise SealError("sealed value is malformed or was tampered with") from exc
        if version != "v1":
            raise SealError("unknown sealed-value version")
        aead = self._state[0].get(kid)
        if aead is None and self.reload():
            aead = self._state[0].get(kid)
        if aead is None:
            self._report_unknown(kid)
            raise SealError("sealed with a master key that is not in the ring")
        try:
            raw = _b64d(payload)
            return aead.decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise SealError("sealed value is malformed or was tampered with") from exc

    def _report_unknown(self, kid: str) -> None:
        # The value came from our own store, so an unknown id means a missing or stale
        # secrets file: say so once per id instead of failing in silence.
        if kid in self._reported or len(self._reported) >= _MAX_REPORTED:
            return
        self._reported.add(kid)
        log.warning(
            "master keys: a sealed secret names key id %r, which is not in the ring even "
            "after a reload; credentials sealed under it cannot be used (is secrets.json "
            "shared by every instance?)",
            kid[:64],
        )

    def __repr__(self) -> str:
        return f"MasterKeyRing(key_ids={self.key_ids!r}, active={self.active!r})"
