"""JWT access tokens: issuer configuration, key sources, sans-I/O verification.

RFC 7519 (JWT), RFC 7515 (JWS), RFC 7517 (JWK), RFC 8725 (JWT BCP), RFC 9068 (JWT access
tokens). :class:`TokenVerifier` does the checks without I/O; a :class:`KeySource` supplies
each issuer's keys, either static/local (:class:`StaticKeySource`) or fetched from a JWKS
URL (:class:`RemoteJWKS`).
"""

from authgate.tokens.cache import VerifiedTokenCache
from authgate.tokens.claims import CHALLENGE
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.jwks import KeySource, RemoteJWKS, StaticKeySource, key_source_for
from authgate.tokens.keys import KeyPolicyError, KeyRing, PinnedKey
from authgate.tokens.verify import DEFAULT_MAX_TOKEN_BYTES, TokenVerifier, UnverifiedToken

__all__ = [
    "CHALLENGE",
    "DEFAULT_MAX_TOKEN_BYTES",
    "IssuerConfig",
    "KeyPolicyError",
    "KeyRing",
    "KeySource",
    "PinnedKey",
    "RemoteJWKS",
    "StaticKeySource",
    "TokenVerifier",
    "UnverifiedToken",
    "VerifiedTokenCache",
    "key_source_for",
]
