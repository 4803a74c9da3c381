"""Registered public keys and client certificates: the service and the scheme resolver.

* :class:`PkiService` adds, lists and revokes them (ownership rules as for API keys).
* :class:`PkiResolver` answers the schemes: public keys by key id (RFC 9421, OAuth 1.0a
  RSA-SHA256) and certificates by SHA-256 thumbprint (mTLS).
"""

from authgate.accounts.pki._resolver import PkiResolver
from authgate.accounts.pki._service import CertificateView, PkiService, PublicKeyView
from authgate.accounts.pki._validation import (
    CertificateFacts,
    certificate_facts,
    validate_key_id,
    validate_public_key,
)

__all__ = [
    "CertificateFacts",
    "CertificateView",
    "PkiResolver",
    "PkiService",
    "PublicKeyView",
    "certificate_facts",
    "validate_key_id",
    "validate_public_key",
]
