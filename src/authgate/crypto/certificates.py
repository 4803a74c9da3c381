"""X.509 helpers shared by certificate registration and the mTLS scheme.

A client certificate is identified by the SHA-256 digest of its DER encoding: in hex as
authgate stores it, and base64url as RFC 8705 §3.1 ``x5t#S256`` (certificate-bound tokens).
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding

__all__ = [
    "MAX_CERTIFICATE_BYTES",
    "MIN_RSA_BITS",
    "CertificateError",
    "contains_private_key",
    "load_certificate",
    "thumbprint_sha256",
    "weak_key_reason",
    "x5t_s256",
]

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # larger keys only make every verification slower
MAX_CERTIFICATE_BYTES = 16 * 1024
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n(.+?)-----END CERTIFICATE-----", re.S)
_PRIVATE_LABEL = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


class CertificateError(ValueError):
    """The bytes are not exactly one well-formed X.509 certificate."""


def contains_private_key(data: bytes) -> bool:
    """True when ``data`` holds a PEM private key block (of any kind, encrypted or not)."""
    return _PRIVATE_LABEL.search(data) is not None


def load_certificate(data: bytes) -> x509.Certificate:
    """Exactly one certificate, PEM or DER.

    Raises:
        CertificateError: empty, oversized, several certificates, or not a certificate.
    """
    if not data or len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateError("the certificate is empty or too large")
    try:
        if b"-----BEGIN" in data:
            blocks = _PEM_CERT.findall(data)
            if len(blocks) != 1:
                raise CertificateError("expected exactly one PEM certificate")
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except CertificateError:
        raise
    except (ValueError, TypeError) as exc:
        raise CertificateError("not a valid X.509 certificate") from exc


def thumbprint_sha256(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(_der(cert)).hexdigest()


def x5t_s256(cert: x509.Certificate) -> str:
    """RFC 8705 §3.1 ``x5t#S256``: base64url (no padding) SHA-256 of the DER."""
    digest = hashlib.sha256(_der(cert)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def weak_key_reason(key: object) -> str | None:
    """Why a public key is too weak (or too large) to accept, or None when it is fine."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"RSA keys must have at least {MIN_RSA_BITS} bits"
        if key.key_size > MAX_RSA_BITS:
            return f"RSA keys may have at most {MAX_RSA_BITS} bits"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    # DSA and anything newer we do not know: an allow-list, so a deprecated algorithm
    # is refused without touching its (deprecated) class
    return f"{type(key).__name__.removeprefix('_')} keys are not accepted (use RSA, EC or EdDSA)"


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)
