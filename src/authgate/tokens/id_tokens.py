"""OpenID Connect ID tokens (OIDC Core 1.0 §2, §3.1.3.6, §3.1.3.7).

Claims: ``iss``, ``sub`` (the user's stable id), ``aud`` (the client), ``exp``, ``iat``,
``auth_time``, ``nonce`` (echoed from the authorization request, §3.1.2.1), ``amr``
(RFC 8176), ``azp`` (the client, §2), ``at_hash`` (§3.1.3.6: the base64url of the left
half of the hash of the access token's ASCII octets, the hash being the one of the ID
token's ``alg``, SHA-256 for RS256/ES256 — and SHA-512 for EdDSA per the OpenID
Foundation's errata, Ed25519 being SHA-512-based) and ``preferred_username`` with the
``profile`` scope (§5.4). Signed with ``RS256`` by default: OIDC's mandatory algorithm
(Core §15.1), which every relying party supports. ``typ`` is ``JWT``, never ``at+jwt``,
so an ID token is refused where an access token is expected (RFC 9068 §4, RFC 8725 §3.11).
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from authgate.tokens.access import SigningKeys
from authgate.tokens.signing import SIGNING_ALGORITHMS

__all__ = ["DEFAULT_ID_TOKEN_ALGORITHM", "IdTokenIssuer", "at_hash"]

DEFAULT_ID_TOKEN_ALGORITHM = "RS256"  # noqa: S105 - an algorithm name
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "RS256": hashlib.sha256,
    "ES256": hashlib.sha256,
    "EdDSA": hashlib.sha512,
}


def at_hash(access_token: str, algorithm: str) -> str:
    """The ``at_hash`` of ``access_token`` for an ID token signed with ``algorithm``."""
    digest = _HASHES[algorithm](access_token.encode("ascii")).digest()
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


class IdTokenIssuer:
    """Signs ID tokens.

    Args:
        keys: holds the signing key ring.
        issuer: the ``iss``.
        lifetime: seconds from ``iat`` to ``exp``.
        algorithm: the JWS algorithm (``RS256`` by default).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        lifetime: int = 3600,
        algorithm: str = DEFAULT_ID_TOKEN_ALGORITHM,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if algorithm not in SIGNING_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {SIGNING_ALGORITHMS}")
        self._keys = keys
        self.issuer = issuer
        self.lifetime = lifetime
        self.algorithm = algorithm
        self._clock = clock

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        auth_time: float,
        nonce: str | None = None,
        access_token: str | None = None,
        amr: Sequence[str] = (),
        username: str | None = None,
    ) -> str:
        """A signed ID token for ``subject`` addressed to ``client_id``."""
        now = self._clock()
        iat = int(now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "azp": client_id,
            "iat": iat,
            "exp": iat + self.lifetime,
            "auth_time": math.floor(auth_time),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["at_hash"] = at_hash(access_token, self.algorithm)
        if amr:
            claims["amr"] = list(amr)
        if username is not None:
            claims["preferred_username"] = username
        return self._keys.ring.sign(claims, algorithm=self.algorithm, now=now, typ="JWT")
