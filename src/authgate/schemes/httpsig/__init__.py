"""RFC 9421 HTTP Message Signatures: server-side verification of signed requests.

Modules: :mod:`._sf` (the RFC 8941 subset), :mod:`._base` (components and the signature
base, RFC 9421 §2), :mod:`._digest` (RFC 9530 ``Content-Digest``), :mod:`._algorithms`
(§3.3) and :mod:`._authenticator` (the verification procedure of §3.2).
"""

from __future__ import annotations

from ._algorithms import ASYMMETRIC_ALGORITHMS, HMAC_SHA256, is_valid_asymmetric, is_valid_hmac
from ._authenticator import (
    DEFAULT_REQUIRED_COMPONENTS,
    QUERY_COMPONENTS,
    HttpSigAuthenticator,
    SignatureParams,
    parse_params,
    select_signature,
)
from ._base import ComponentMissing, covered_names, signature_base
from ._digest import is_valid_content_digest
from ._sf import InnerList, Item, StructuredFieldError, Token, parse_dictionary

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_REQUIRED_COMPONENTS",
    "HMAC_SHA256",
    "QUERY_COMPONENTS",
    "ComponentMissing",
    "HttpSigAuthenticator",
    "InnerList",
    "Item",
    "SignatureParams",
    "StructuredFieldError",
    "Token",
    "covered_names",
    "is_valid_asymmetric",
    "is_valid_content_digest",
    "is_valid_hmac",
    "parse_dictionary",
    "parse_params",
    "select_signature",
    "signature_base",
]
