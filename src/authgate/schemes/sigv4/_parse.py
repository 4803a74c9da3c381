"""Reading what a SigV4 client claims: the Authorization header or the presigned query.

Spec: AWS General Reference, "Signature Version 4 signing process" — *Add the signature
to the HTTP request* (Task 4): the ``Authorization: AWS4-HMAC-SHA256 Credential=...,
SignedHeaders=..., Signature=...`` header form and the ``X-Amz-Algorithm``,
``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``,
``X-Amz-Signature`` (and ``X-Amz-Security-Token``) query form; and *Elements of an AWS
Signature Version 4 request* (credential scope ``date/region/service/aws4_request``).

Parsing only checks shape, with size caps applied before any work; anything malformed is
an :class:`~authgate.errors.InvalidRequest` (400). Whether the claim is *true* (dates,
scope, signature) is decided by the authenticator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from authgate.errors import InvalidRequest
from authgate.http.request import RequestView
from authgate.schemes.sigv4._canonical import ALGORITHM

__all__ = [
    "MAX_AUTHORIZATION_LENGTH",
    "MAX_QUERY_LENGTH",
    "MAX_SIGNED_HEADERS",
    "SigV4Claim",
    "has_header_signature",
    "has_query_signature",
    "parse_claim",
]

MAX_AUTHORIZATION_LENGTH = 8192
"""Longest ``Authorization`` header considered; longer ones are refused before parsing."""
MAX_QUERY_LENGTH = 16384
"""Longest query string considered for a presigned URL."""
MAX_SIGNED_HEADERS = 64
"""Most header names a SignedHeaders list may hold."""

_HEADER_PREFIX = ALGORITHM + " "
_QUERY_MARKER = "X-Amz-Algorithm="
# RFC 9110 §5.6.2 token, lower-case only: SignedHeaders are lower-cased by every signer.
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+", re.ASCII)
_SIGNATURE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_QUERY_FIELDS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)


@dataclass(frozen=True, slots=True)
class SigV4Claim:
    """What the client says it signed, before any of it is checked.

    Attributes:
        presigned: True for the query (presigned URL) form, False for the header form.
        access_key: the access key id (an authgate key pair's ``key``).
        date: credential scope date, ``YYYYMMDD``.
        region: credential scope region.
        service: credential scope service.
        terminator: credential scope terminator (must be ``aws4_request``).
        signed_headers: lower-case, sorted, unique header names.
        signature: 64 lower-case hex characters.
        amz_date: ``X-Amz-Date`` (header or query), or None when absent.
        expires: ``X-Amz-Expires`` as given (presigned form only), else None.
        security_token: ``X-Amz-Security-Token`` (header or query), or None.
    """

    presigned: bool
    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str | None
    expires: str | None
    security_token: str | None

    @property
    def scope(self) -> str:
        """The credential scope as it enters the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def has_header_signature(request: RequestView) -> bool:
    """True when an ``Authorization`` header names ``AWS4-HMAC-SHA256``."""
    value = request.headers.get("authorization")
    return value is not None and (value == ALGORITHM or value.startswith(_HEADER_PREFIX))


def has_query_signature(request: RequestView) -> bool:
    """True when the query carries ``X-Amz-Algorithm=AWS4-HMAC-SHA256``."""
    query = request.query
    if _QUERY_MARKER not in query:
        return False
    return any(
        piece.partition("=")[2] == ALGORITHM
        for piece in query.split("&")
        if piece.startswith(_QUERY_MARKER)
    )


def _bad(reason: str) -> InvalidRequest:
    return InvalidRequest(reason=f"sigv4: {reason}")


def _split_credential(credential: str) -> tuple[str, str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise _bad("credential is not key/date/region/service/aws4_request")
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def _split_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if len(names) > MAX_SIGNED_HEADERS:
        raise _bad("too many signed headers")
    for i, name in enumerate(names):
        if not _HEADER_NAME.fullmatch(name):
            raise _bad("signed header name is not a lower-case token")
        # Sorted and unique, as every signer emits them: anything else is not canonical.
        if i and names[i - 1] >= name:
            raise _bad("signed headers are not sorted and unique")
    return names


def _single_header(request: RequestView, name: str) -> str | None:
    values = request.headers.get_all(name)
    if len(values) > 1:
        raise _bad(f"repeated {name} header")
    return values[0] if values else None


def _parse_header(request: RequestView, value: str) -> SigV4Claim:
    if len(value) > MAX_AUTHORIZATION_LENGTH:
        raise _bad("authorization header too long")
    if not value.isascii() or not value.startswith(_HEADER_PREFIX):
        raise _bad("authorization header is not AWS4-HMAC-SHA256 ASCII text")
    fields: dict[str, str] = {}
    for part in value[len(_HEADER_PREFIX) :].split(","):
        name, eq, field = part.strip().partition("=")
        if not eq or name in fields or name not in ("Credential", "SignedHeaders", "Signature"):
            raise _bad("authorization header fields are not Credential, SignedHeaders, Signature")
        fields[name] = field
    if len(fields) != 3:
        raise _bad("authorization header lacks a field")
    return _claim(
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        presigned=False,
        amz_date=_single_header(request, "x-amz-date"),
        expires=None,
        security_token=_single_header(request, "x-amz-security-token"),
    )


def _parse_query(request: RequestView) -> SigV4Claim:
    if len(request.query) > MAX_QUERY_LENGTH:
        raise _bad("query too long")
    fields: dict[str, str] = {}
    for piece in request.query.split("&"):
        raw_name, _, raw_value = piece.partition("=")
        name = unquote(raw_name, errors="replace") if "%" in raw_name else raw_name
        if name in _QUERY_FIELDS:
            if name in fields:
                raise _bad(f"repeated {name} parameter")
            fields[name] = unquote(raw_value, errors="replace")
    missing = _QUERY_FIELDS - {"X-Amz-Security-Token"} - fields.keys()
    if missing:
        raise _bad("presigned query lacks " + ", ".join(sorted(missing)))
    if fields["X-Amz-Algorithm"] != ALGORITHM:
        raise _bad("X-Amz-Algorithm is not AWS4-HMAC-SHA256")
    return _claim(
        fields["X-Amz-Credential"],
        fields["X-Amz-SignedHeaders"],
        fields["X-Amz-Signature"],
        presigned=True,
        amz_date=fields["X-Amz-Date"],
        expires=fields["X-Amz-Expires"],
        security_token=fields.get("X-Amz-Security-Token"),
    )


def _claim(
    credential: str,
    signed_headers: str,
    signature: str,
    *,
    presigned: bool,
    amz_date: str | None,
    expires: str | None,
    security_token: str | None,
) -> SigV4Claim:
    """The claim of either form, once its fields are found (header and query checks alike)."""
    key, date, region, service, terminator = _split_credential(credential)
    if not _SIGNATURE.fullmatch(signature):
        raise _bad("signature is not 64 lower-case hex characters")
    return SigV4Claim(
        presigned=presigned,
        access_key=key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=_split_signed_headers(signed_headers),
        signature=signature,
        amz_date=amz_date,
        expires=expires,
        security_token=security_token,
    )


def parse_claim(request: RequestView) -> SigV4Claim:
    """Read the SigV4 claim from a request, in either form.

    Args:
        request: the request.

    Returns:
        The claim, shape-checked only.

    Raises:
        InvalidRequest: malformed, oversized, repeated or ambiguous (both forms at once).
    """
    values = request.headers.get_all("authorization")
    if len(values) > 1:
        raise _bad("repeated authorization header")
    in_query = has_query_signature(request)
    if values:
        if in_query:
            raise _bad("signature in both the authorization header and the query")
        return _parse_header(request, values[0])
    if in_query:
        return _parse_query(request)
    raise _bad("no AWS4-HMAC-SHA256 signature")
