"""AWS Signature Version 4 (``AWS4-HMAC-SHA256``), verified on the server side.

Spec: AWS General Reference, "Signature Version 4 signing process" — Task 1 (canonical
request), Task 2 (string to sign), Task 3 (signing key and signature), Task 4 (the
Authorization header and presigned query forms). Sans-I/O: the modules below compute and
check signatures over a :class:`~authgate.http.request.RequestView`; only
:class:`SigV4Authenticator` awaits anything (the credential resolver).

- ``_canonical``: canonical URI/query/headers/request, string to sign, signing key, signature.
- ``_parse``: reading the client's claim (Authorization header or presigned query).
- ``_verify``: checking the claim (time, scope, payload hash) and recomputing the signature.
- ``_authenticator``: the :class:`~authgate.schemes.base.Authenticator`.
"""

from authgate.schemes.sigv4._authenticator import SessionTokenVerifier, SigV4Authenticator
from authgate.schemes.sigv4._canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    canonical_headers,
    canonical_query,
    canonical_request,
    canonical_uri,
    derive_signing_key,
    hashed_payload,
    parse_query,
    remove_dot_segments,
    sign,
    string_to_sign,
)
from authgate.schemes.sigv4._parse import (
    MAX_AUTHORIZATION_LENGTH,
    SigV4Claim,
    parse_claim,
)
from authgate.schemes.sigv4._verify import (
    check_claim,
    compute_signature,
    verified_payload_hash,
)

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_AUTHORIZATION_LENGTH",
    "UNSIGNED_PAYLOAD",
    "SessionTokenVerifier",
    "SigV4Authenticator",
    "SigV4Claim",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "check_claim",
    "compute_signature",
    "derive_signing_key",
    "hashed_payload",
    "parse_claim",
    "parse_query",
    "remove_dot_segments",
    "sign",
    "string_to_sign",
    "verified_payload_hash",
]
