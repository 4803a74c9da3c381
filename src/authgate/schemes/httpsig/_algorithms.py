"""The RFC 9421 signature algorithms authgate verifies (§3.3, registry in §6.2.2).

* ``hmac-sha256`` (§3.3.3): HMAC-SHA-256 keyed with the key pair's secret, compared in
  constant time over bytes.
* ``ed25519`` (§3.3.6): Ed25519 (RFC 8032) over the signature base.
* ``ecdsa-p256-sha256`` (§3.3.4): ECDSA on P-256 with SHA-256; the wire form is the
  64-byte ``r || s`` concatenation, converted to DER for pyca/cryptography.

RSA (``rsa-pss-sha512``, ``rsa-v1_5-sha256``) and ``ecdsa-p384-sha384`` are not offered.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_SHA256",
    "is_valid_asymmetric",
    "is_valid_hmac",
]

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
ASYMMETRIC_ALGORITHMS = frozenset({ED25519, ECDSA_P256_SHA256})


def is_valid_hmac(key: bytes, base: bytes, signature: bytes) -> bool:
    """True when ``signature`` is HMAC-SHA-256(key, base); constant-time on bytes."""
    expected = hmac.new(key, base, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)


@lru_cache(maxsize=1024)
def _load(pem: bytes, algorithm: str) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    # Parsing a PEM costs more than an Ed25519 verification; registered keys are few.
    key = load_pem_public_key(pem)
    if algorithm == ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if (
        algorithm == ECDSA_P256_SHA256
        and isinstance(key, ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        return key
    raise ValueError("the registered key does not match its algorithm")


def is_valid_asymmetric(
    algorithm: str, public_key_pem: bytes, base: bytes, signature: bytes
) -> bool:
    """True when ``signature`` over ``base`` verifies with the registered public key.

    Args:
        algorithm: ``ed25519`` or ``ecdsa-p256-sha256``; anything else is False.
        public_key_pem: the registered SubjectPublicKeyInfo PEM.
        base: the signature base.
        signature: the raw signature bytes from the ``Signature`` field.

    Returns:
        False for a wrong signature, a malformed one, or a key unusable with ``algorithm``.
    """
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        return False
    try:
        key = _load(public_key_pem, algorithm)
    except (ValueError, TypeError):
        return False
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if len(signature) != 64:
                return False
            key.verify(signature, base)
            return True
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        key.verify(encode_dss_signature(r, s), base, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False
