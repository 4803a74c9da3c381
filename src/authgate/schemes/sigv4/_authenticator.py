"""The SigV4 :class:`~authgate.schemes.base.Authenticator`: AWS Signature Version 4 requests.

Spec: AWS General Reference, "Signature Version 4 signing process" (Tasks 1-4) and
"Authenticating requests: using query parameters"; defaults as Amazon API Gateway
(region ``us-east-1``, service ``execute-api``, ±5 min, presigned URLs up to 7 days).
Temporary credentials (``X-Amz-Security-Token``, AWS STS) are accepted only when a
:class:`SessionTokenVerifier` vouches for the token.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from typing import Protocol

from authgate.credentials import CredentialResolver
from authgate.errors import SignatureMismatch
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.schemes.sigv4._canonical import ALGORITHM
from authgate.schemes.sigv4._parse import has_header_signature, has_query_signature, parse_claim
from authgate.schemes.sigv4._verify import (
    check_claim,
    compute_signature,
    signatures_match,
    verified_payload_hash,
)

__all__ = ["SessionTokenVerifier", "SigV4Authenticator"]


class SessionTokenVerifier(Protocol):
    """Decides whether a session token (``X-Amz-Security-Token``) is valid for a key."""

    async def verify(self, token: str, key: str) -> bool:
        """True when ``token`` is a live session token issued for the access key ``key``."""
        ...


class SigV4Authenticator:
    """Verifies AWS SigV4 (``AWS4-HMAC-SHA256``) signatures, header or presigned form.

    The access key id is an authgate key pair's ``key``; the secret access key is its
    secret. Every refusal of a present signature is a
    :class:`~authgate.errors.SignatureMismatch` (403, as AWS), with the same body for an
    unknown key, a wrong secret, a stale date or a changed header; malformed input is an
    :class:`~authgate.errors.InvalidRequest` (400).

    Args:
        resolver: looks key pairs up.
        region: the region the credential scope must name.
        service: the service the credential scope must name.
        max_skew: allowed clock difference, seconds, either way.
        max_presign_expires: longest ``X-Amz-Expires`` accepted, seconds (AWS: 7 days).
        clock: current time, POSIX seconds (injected for tests).
        session_tokens: verifies ``X-Amz-Security-Token``; without one, requests carrying
            a session token are refused.
    """

    name = "sigv4"
    challenge = ALGORITHM
    needs_body = True
    cacheable = False  # a signature covers the whole request
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ("x-amz-algorithm", "x-amz-signature", "x-amz-credential")

    def __init__(
        self,
        resolver: CredentialResolver,
        *,
        region: str = "us-east-1",
        service: str = "execute-api",
        max_skew: float = 300.0,
        max_presign_expires: int = 7 * 24 * 3600,
        clock: Callable[[], float] = time.time,
        session_tokens: SessionTokenVerifier | None = None,
    ) -> None:
        self._resolver = resolver
        self._region = region
        self._service = service
        self._max_skew = max_skew
        self._max_presign_expires = max_presign_expires
        self._clock = clock
        self._session_tokens = session_tokens
        # Signed with when the key is unknown, so that case costs what a wrong secret does.
        self._decoy_secret = secrets.token_urlsafe(30).encode()

    def is_present(self, request: RequestView) -> bool:
        """True for ``Authorization: AWS4-HMAC-SHA256 ...`` or a presigned query."""
        return has_header_signature(request) or has_query_signature(request)

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the request's signature and return the key pair's identity.

        Args:
            request: the request, with its body.

        Returns:
            The key pair owner's identity with ``scheme="sigv4"``.

        Raises:
            InvalidRequest: the signature is malformed, oversized or ambiguous.
            SignatureMismatch: anything else that fails (see the class docstring).
        """
        claim = parse_claim(request)
        check_claim(
            claim,
            region=self._region,
            service=self._service,
            now=self._clock(),
            max_skew=self._max_skew,
            max_presign_expires=self._max_presign_expires,
        )
        payload_hash = verified_payload_hash(request)
        credential = await self._resolver.resolve_key_pair(claim.access_key)
        secret = self._decoy_secret if credential is None else credential.secret.reveal_bytes()
        expected = compute_signature(request, claim, secret, payload_hash=payload_hash)
        if credential is None:
            raise SignatureMismatch(reason="sigv4: unknown access key")
        if not signatures_match(expected, claim.signature):
            raise SignatureMismatch(reason="sigv4: signature mismatch")
        # Temporary credentials are valid only with their session token, and a session
        # token is valid only for the temporary credential it was issued with.
        is_session = credential.identity.claims.get("session") is True
        if (is_session or claim.security_token is not None) and not (
            claim.security_token is not None
            and self._session_tokens is not None
            and await self._session_tokens.verify(claim.security_token, claim.access_key)
        ):
            raise SignatureMismatch(reason="sigv4: session token missing or refused")
        return dataclasses.replace(credential.identity, scheme="sigv4")
