"""Deciding whether a SigV4 claim holds: time, scope, signed headers, payload, signature.

Spec: AWS General Reference, "Signature Version 4 signing process" — *Elements of an AWS
Signature Version 4 request* (the credential scope must name the request date, region and
service; a signed request is valid for 5 minutes), *Authenticating requests: using query
parameters* (``X-Amz-Expires`` from 1 s to 604800 s = 7 days), and *Signature
calculations for the Authorization header: transferring payload in a single chunk*
(``x-amz-content-sha256``, ``UNSIGNED-PAYLOAD``). Every failure is a
:class:`~authgate.errors.SignatureMismatch` (403), as AWS answers; the ``reason`` is for
audit logs only, the body is the same whatever failed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime

from authgate.errors import InvalidRequest, SignatureMismatch
from authgate.http.request import RequestView
from authgate.schemes.sigv4._canonical import (
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    canonical_request,
    derive_signing_key,
    sign,
    string_to_sign,
)
from authgate.schemes.sigv4._parse import SigV4Claim

__all__ = ["check_claim", "compute_signature", "signatures_match", "verified_payload_hash"]

_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z", re.ASCII)
_EXPIRES = re.compile(r"[0-9]{1,7}", re.ASCII)


def _mismatch(reason: str) -> SignatureMismatch:
    return SignatureMismatch(reason=f"sigv4: {reason}")


def _parse_amz_date(value: str) -> float:
    m = _AMZ_DATE.fullmatch(value)
    if m is None:
        raise _mismatch("X-Amz-Date is not YYYYMMDDTHHMMSSZ")
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp()
    except ValueError:
        raise _mismatch("X-Amz-Date is not a valid date") from None


def check_claim(
    claim: SigV4Claim,
    *,
    region: str,
    service: str,
    now: float,
    max_skew: float,
    max_presign_expires: int,
) -> None:
    """Check everything about a claim that needs no secret.

    Args:
        claim: the parsed claim.
        region: the region this server answers for.
        service: the service name this server answers for.
        now: the current time, POSIX seconds.
        max_skew: allowed clock difference either way, seconds (header form), and how far
            in the future a presigned URL may start.
        max_presign_expires: longest ``X-Amz-Expires`` accepted, seconds.

    Raises:
        SignatureMismatch: no or bad date, date/scope disagreement, wrong region or
            service, ``host`` not signed, request too old or too new, presigned URL
            expired or valid for too long.
    """
    if claim.amz_date is None:
        raise _mismatch("no X-Amz-Date")
    signed_at = _parse_amz_date(claim.amz_date)
    if claim.date != claim.amz_date[:8]:
        raise _mismatch("credential scope date is not the X-Amz-Date day")
    if claim.region != region:
        raise _mismatch("credential scope region mismatch")
    if claim.service != service:
        raise _mismatch("credential scope service mismatch")
    if claim.terminator != TERMINATOR:
        raise _mismatch("credential scope does not end in aws4_request")
    if "host" not in claim.signed_headers:
        raise _mismatch("host is not a signed header")
    if signed_at - now > max_skew:
        raise _mismatch("X-Amz-Date is in the future")
    if not claim.presigned:
        if now - signed_at > max_skew:
            raise _mismatch("X-Amz-Date is too old")
        return
    if claim.expires is None or not _EXPIRES.fullmatch(claim.expires):
        raise _mismatch("X-Amz-Expires is not a number of seconds")
    expires = int(claim.expires)
    if not 1 <= expires <= max_presign_expires:
        raise _mismatch("X-Amz-Expires out of range")
    if now > signed_at + expires:
        raise _mismatch("presigned URL expired")


def verified_payload_hash(request: RequestView) -> str:
    """The HashedPayload line, after checking the client's claim about the body.

    With ``x-amz-content-sha256: UNSIGNED-PAYLOAD`` the body is not covered; any other
    value must be the body's SHA-256. Without the header the body's hash is used, so a
    changed body changes the signature.

    Args:
        request: the request with its body (None counts as empty).

    Returns:
        The payload hash to put in the canonical request.

    Raises:
        InvalidRequest: the header is repeated.
        SignatureMismatch: the header does not match the body.
    """
    claimed = request.headers.get_all("x-amz-content-sha256")
    if len(claimed) > 1:
        raise InvalidRequest(reason="sigv4: repeated x-amz-content-sha256 header")
    if claimed and claimed[0] == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD
    actual = hashlib.sha256(request.body or b"").hexdigest()
    if claimed and not hmac.compare_digest(
        claimed[0].encode("utf-8", "surrogatepass"), actual.encode()
    ):
        raise _mismatch("x-amz-content-sha256 does not match the body")
    return actual


def compute_signature(
    request: RequestView,
    claim: SigV4Claim,
    secret: bytes,
    *,
    payload_hash: str | None = None,
    normalize: bool = True,
    double_encode: bool = True,
) -> str:
    """The signature the client should have sent, had it known ``secret``.

    Args:
        request: the request.
        claim: its parsed claim (scope, signed headers, form, date).
        secret: the secret access key, UTF-8 bytes.
        payload_hash: the HashedPayload line (see :func:`verified_payload_hash`); when
            None the client's ``x-amz-content-sha256`` or the body hash is used unchecked.
        normalize: see :func:`~authgate.schemes.sigv4.canonical_uri`.
        double_encode: see :func:`~authgate.schemes.sigv4.canonical_uri`.

    Returns:
        64 lower-case hex characters.

    Raises:
        SignatureMismatch: a signed header is missing from the request.
    """
    canonical = canonical_request(
        request,
        claim.signed_headers,
        payload_hash=payload_hash,
        presigned=claim.presigned,
        normalize=normalize,
        double_encode=double_encode,
    )
    if canonical is None:
        raise _mismatch("a signed header is missing")
    key = derive_signing_key(secret, claim.date, claim.region, claim.service)
    return sign(key, string_to_sign(claim.amz_date or "", claim.scope, canonical))


def signatures_match(expected: str, presented: str) -> bool:
    """Constant-time comparison of two hex signatures, on bytes."""
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("ascii"))
