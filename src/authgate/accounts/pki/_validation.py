"""Validation of what callers register: key ids, public keys (pinned to an algorithm) and
client certificates. Pure functions; every refusal is an :class:`InvalidRequest` whose
description never echoes the submitted material.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from authgate.crypto.certificates import (
    CertificateError,
    contains_private_key,
    load_certificate,
    thumbprint_sha256,
    weak_key_reason,
)
from authgate.errors import InvalidRequest
from authgate.store.models_pki import PUBLIC_KEY_ALGORITHMS

__all__ = [
    "CertificateFacts",
    "certificate_facts",
    "validate_key_id",
    "validate_public_key",
]

# printable ASCII without space, '"' and '\': safe as an RFC 8941 string and in a header
_KEY_ID = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")
# key ids with these prefixes would be shadowed by authgate's own keys (looked up first)
_RESERVED_PREFIXES = ("agk_", "agp_", "ags_")
MAX_PUBLIC_KEY_BYTES = 8 * 1024


def validate_key_id(key_id: str) -> str:
    """The key id clients send (``keyid``, ``oauth_consumer_key``), checked."""
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidRequest(
            "key ids are 1-200 printable ASCII characters without spaces, quotes or backslashes"
        )
    if key_id.lower().startswith(_RESERVED_PREFIXES):
        raise InvalidRequest("key ids may not start with a key prefix (agk_, agp_, ags_)")
    return key_id


def _matches(key: object, algorithm: str) -> bool:
    if algorithm == "ed25519":
        return isinstance(key, ed25519.Ed25519PublicKey)
    if algorithm == "ecdsa-p256-sha256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if algorithm == "rsa-sha256":
        return isinstance(key, rsa.RSAPublicKey)
    return False


def validate_public_key(pem: str | bytes, algorithm: str) -> str:
    """A public key checked against its pinned algorithm, as canonical SPKI PEM.

    Args:
        pem: a PEM public key (SubjectPublicKeyInfo, or PKCS#1 ``RSA PUBLIC KEY``).
        algorithm: one of ``ed25519``, ``ecdsa-p256-sha256``, ``rsa-sha256``.

    Returns:
        The key re-encoded as SubjectPublicKeyInfo PEM text.

    Raises:
        InvalidRequest: unknown algorithm, a private key, an unreadable key, a key of
            another type than ``algorithm`` or an RSA key outside 2048-8192 bits.
    """
    if algorithm not in PUBLIC_KEY_ALGORITHMS:
        raise InvalidRequest(f"algorithm must be one of {', '.join(PUBLIC_KEY_ALGORITHMS)}")
    data = pem.encode("utf-8", "replace") if isinstance(pem, str) else pem
    if contains_private_key(data):
        raise InvalidRequest("that is a private key: register the public key only")
    if not data or len(data) > MAX_PUBLIC_KEY_BYTES:
        raise InvalidRequest("the public key is empty or too large")
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("not a PEM public key") from exc
    if not _matches(key, algorithm):
        raise InvalidRequest(f"the key is not a {algorithm} key")
    reason = weak_key_reason(key)
    if reason is not None:
        raise InvalidRequest(reason)
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What authgate keeps of a registered client certificate."""

    thumbprint_sha256: str
    subject: str
    san: list[str]
    not_before: datetime
    not_after: datetime


def _san(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out: list[str] = []
    out += [f"DNS:{v}" for v in ext.get_values_for_type(x509.DNSName)]
    out += [f"email:{v}" for v in ext.get_values_for_type(x509.RFC822Name)]
    out += [f"URI:{v}" for v in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    out += [f"IP:{v}" for v in ext.get_values_for_type(x509.IPAddress)]
    return out


def certificate_facts(data: bytes, *, now: datetime) -> CertificateFacts:
    """Check a client certificate for registration and extract its facts.

    Args:
        data: one certificate, PEM or DER. A file that also holds a private key is refused.
        now: the current time (aware); an expired certificate is refused.

    Raises:
        InvalidRequest: a private key in the input, not exactly one certificate,
            an expired certificate, or a weak public key.
    """
    if contains_private_key(data):
        raise InvalidRequest("the file holds a private key: register the certificate only")
    try:
        cert = load_certificate(data)
        subject = cert.subject.rfc4514_string()
        san = _san(cert)
        public_key = cert.public_key()
    except CertificateError as exc:
        raise InvalidRequest(str(exc)) from exc
    except ValueError as exc:  # e.g. an unsupported key type inside a parseable certificate
        raise InvalidRequest("the certificate cannot be used") from exc
    if cert.not_valid_after_utc <= now:
        raise InvalidRequest("the certificate has expired")
    reason = weak_key_reason(public_key)
    if reason is not None:
        raise InvalidRequest(reason)
    return CertificateFacts(
        thumbprint_sha256=thumbprint_sha256(cert),
        subject=subject,
        san=san,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
