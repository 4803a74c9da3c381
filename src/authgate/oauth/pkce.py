"""Proof Key for Code Exchange (RFC 7636), ``S256`` only.

RFC 7636 §4.1 (``code_verifier``: 43–128 characters of ``[A-Za-z0-9-._~]``), §4.2
(``code_challenge = BASE64URL(SHA256(ASCII(code_verifier)))``), §4.3 (the method
defaults to ``plain`` when omitted — so an omitted method is ``plain``, and refused),
§4.6 (the server recomputes the challenge and compares); RFC 9700 §2.1.1 (``plain`` must
not be used; PKCE for every client, which authgate requires). Sans-I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from authgate.errors import InvalidRequest
from authgate.oauth.errors import InvalidGrant

__all__ = ["S256", "challenge_of", "check_challenge", "check_verifier"]

S256 = "S256"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# An S256 challenge is the unpadded base64url of 32 bytes: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{42}[AEIMQUYcgkosw048]")


def challenge_of(verifier: str) -> str:
    """``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge(challenge: str | None, method: str | None) -> str:
    """The challenge of an authorization request, when it is an ``S256`` one.

    Raises:
        InvalidRequest: no challenge, a method other than ``S256`` (an omitted method
            means ``plain``, RFC 7636 §4.3), or a value that is no SHA-256 digest.
    """
    if challenge is None:
        raise InvalidRequest("code_challenge is required (PKCE, RFC 7636).")
    if method != S256:
        raise InvalidRequest("code_challenge_method must be S256.")
    if _S256_CHALLENGE.fullmatch(challenge) is None:
        raise InvalidRequest("code_challenge is not a base64url SHA-256 digest.")
    return challenge


def check_verifier(verifier: str | None, challenge: str | None) -> None:
    """Check the token request's ``code_verifier`` against the stored challenge.

    Raises:
        InvalidGrant: a verifier without a challenge (downgrade), a missing or malformed
            verifier, or one that does not hash to the challenge.
    """
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant(reason="pkce: verifier without challenge")
        return
    if verifier is None or _VERIFIER.fullmatch(verifier) is None:
        raise InvalidGrant(reason="pkce: verifier missing or malformed")
    if not hmac.compare_digest(challenge_of(verifier), challenge):
        raise InvalidGrant(reason="pkce: verifier does not match")
