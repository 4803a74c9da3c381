"""The SigV4 signing computation: canonical request, string to sign, signing key, signature.

Pure functions over a :class:`~authgate.http.request.RequestView`; nothing here decides
whether a request is acceptable (that is :mod:`._authenticator`'s job).

Spec: AWS General Reference, "Signature Version 4 signing process" — *Create a canonical
request* (Task 1: canonical URI, canonical query string, canonical headers, signed headers,
hashed payload), *Create a string to sign* (Task 2), *Calculate the signature* (Task 3:
the ``kDate → kRegion → kService → kSigning`` derivation). Path rules follow the non-S3
services: RFC 3986 §5.2.4 dot-segment removal plus collapsing of empty segments, then each
segment URI-encoded again (the path on the wire is already encoded once, so this is the
"double encoding" of the spec). Behaviour is checked against the AWS test suites in
``tests/vectors`` (aws-c-auth v4 and the classic 2015 suite).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

from authgate.http.request import RequestView

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "UNSIGNED_PAYLOAD",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "derive_signing_key",
    "encode_canonical",
    "hashed_payload",
    "parse_query",
    "remove_dot_segments",
    "sign",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TERMINATOR = "aws4_request"

# RFC 3986 §2.3 unreserved characters: the only ones SigV4's UriEncode leaves alone.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_SAFE = _UNRESERVED + "/"


def remove_dot_segments(path: str) -> str:
    """Normalise a path the way AWS does for every service but S3.

    RFC 3986 §5.2.4 removal of ``.`` and ``..`` segments, plus removal of empty segments
    (``//`` → ``/``). A leading and a trailing slash are kept; an empty result is ``/``.
    Works on the still-encoded path, so ``%2E%2E`` is an ordinary segment, as for AWS.

    Args:
        path: the raw path.

    Returns:
        The normalised path.
    """
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    lead = "/" if path[0] == "/" else ""
    trail = "/" if path[-1] == "/" and out else ""
    return (lead + "/".join(out) + trail) or "/"


def canonical_uri(path: str, *, normalize: bool = True, double_encode: bool = True) -> str:
    """The CanonicalURI line (spec Task 1, step 2).

    Args:
        path: the raw path as received (percent-encoded on the wire; any non-ASCII
            character is taken as UTF-8).
        normalize: remove dot and empty segments (all services but S3).
        double_encode: URI-encode the received path once more (all services but S3).
            When false the path is decoded first, so the result is encoded exactly once.

    Returns:
        The canonical URI.
    """
    if not path:
        path = "/"
    if normalize:
        path = remove_dot_segments(path)
    if double_encode:
        if not path.strip(_PATH_SAFE):  # fast path: nothing to encode
            return path
        return quote(path, safe="/~", encoding="utf-8", errors="surrogatepass")
    raw = unquote_to_bytes(path.encode("utf-8", "surrogatepass"))
    return quote_from_bytes(raw, safe="/~")


def _uri_encode(raw: str) -> str:
    """Decode one query component and re-encode it as SigV4's UriEncode does."""
    if not raw.strip(_UNRESERVED):  # fast path: already canonical
        return raw
    # "+" is a space: botocore and requests both send form-encoded queries ("a+b") while
    # signing "a%20b", and AWS accepts them; a literal plus arrives as "%2B".
    raw_bytes = raw.replace("+", "%20").encode("utf-8", "surrogatepass")
    return quote_from_bytes(unquote_to_bytes(raw_bytes), safe="-_.~")


def parse_query(query: str) -> list[tuple[str, str]]:
    """Split a raw query into canonically encoded ``(name, value)`` pairs, in order.

    Each component is percent-decoded and re-encoded with UriEncode, so ``%e1%88%b4``,
    ``%E1%88%B4`` and raw UTF-8 all give ``%E1%88%B4``. ``+`` is a space, as in the
    form-encoded queries real clients send (``%2B`` is a plus). Empty pieces
    (``a=1&&b=2``) are dropped; ``a`` alone is ``a=``.

    Args:
        query: the raw query string, without ``?``.

    Returns:
        The pairs, each already in canonical encoding.
    """
    pairs: list[tuple[str, str]] = []
    if not query:
        return pairs
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((_uri_encode(name), _uri_encode(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]], *, exclude: str | None = None) -> str:
    """The CanonicalQueryString line (spec Task 1, step 3).

    Args:
        pairs: canonically encoded pairs, as from :func:`parse_query`.
        exclude: a parameter name left out (``X-Amz-Signature`` for presigned URLs).

    Returns:
        ``name=value`` pairs sorted by name then value, joined with ``&``.
    """
    kept = [p for p in pairs if p[0] != exclude] if exclude else list(pairs)
    kept.sort()
    return "&".join([f"{k}={v}" for k, v in kept])


def canonical_headers(request: RequestView, signed_headers: Sequence[str]) -> str | None:
    """The CanonicalHeaders block (spec Task 1, step 4), without its final blank line.

    Values are trimmed and runs of whitespace collapsed to one space; repeated headers are
    joined with ``,`` in the order received. ``host`` falls back to the request authority
    (HTTP/2 ``:authority``) when there is no Host header.

    Args:
        request: the request.
        signed_headers: lower-case header names, sorted, as listed in SignedHeaders.

    Returns:
        ``name:value`` lines joined with newlines, or None when a signed header is absent.
    """
    wanted = set(signed_headers)
    found: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        if name in wanted:
            found.setdefault(name, []).append(" ".join(value.split()))
    lines = []
    for name in signed_headers:
        values = found.get(name)
        if values is None:
            if name != "host" or not request.authority:
                return None
            values = [request.authority]
        lines.append(f"{name}:{','.join(values)}")
    return "\n".join(lines)


def hashed_payload(request: RequestView) -> str:
    """The HashedPayload line (spec Task 1, step 6).

    The ``x-amz-content-sha256`` header when the client sent one (a hex digest or
    ``UNSIGNED-PAYLOAD``: whether that value matches the body is checked by the
    authenticator), otherwise the hex SHA-256 of the body.

    Args:
        request: the request; a None body counts as empty.

    Returns:
        The payload hash as it enters the canonical request.
    """
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None:
        return claimed
    if not request.body:
        return EMPTY_SHA256
    return hashlib.sha256(request.body).hexdigest()


def canonical_request(
    request: RequestView,
    signed_headers: Sequence[str],
    *,
    payload_hash: str | None = None,
    presigned: bool = False,
    normalize: bool = True,
    double_encode: bool = True,
) -> str | None:
    """The canonical request (spec Task 1).

    Args:
        request: the request as received.
        signed_headers: lower-case, sorted header names the client signed.
        payload_hash: the HashedPayload line; computed by :func:`hashed_payload` if None.
        presigned: leave ``X-Amz-Signature`` out of the query (presigned URL form).
        normalize: see :func:`canonical_uri`.
        double_encode: see :func:`canonical_uri`.

    Returns:
        The canonical request text, or None when a signed header is missing.
    """
    headers = canonical_headers(request, signed_headers)
    if headers is None:
        return None
    query = canonical_query(
        parse_query(request.query), exclude="X-Amz-Signature" if presigned else None
    )
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.path, normalize=normalize, double_encode=double_encode),
            query,
            headers,
            "",
            ";".join(signed_headers),
            hashed_payload(request) if payload_hash is None else payload_hash,
        )
    )


def encode_canonical(text: str) -> bytes:
    """Bytes of a canonical request or string to sign, as the client hashed them.

    Header values reach authgate as latin-1 text (one character per byte received), so a
    non-ASCII canonical request is turned back into the bytes that were on the wire; text
    that cannot be latin-1 (built by hand, not received) is taken as UTF-8.
    """
    if text.isascii():
        return text.encode("ascii")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The string to sign (spec Task 2).

    Args:
        amz_date: the request time, ``YYYYMMDDTHHMMSSZ``.
        scope: ``date/region/service/aws4_request``.
        canonical: the canonical request.

    Returns:
        ``AWS4-HMAC-SHA256\\n<amz_date>\\n<scope>\\n<hex sha256(canonical)>``.
    """
    digest = hashlib.sha256(encode_canonical(canonical)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=1024)
def derive_signing_key(secret: bytes, date: str, region: str, service: str) -> bytes:
    """The signing key (spec Task 3): four chained HMAC-SHA256, cached.

    The key only changes with the day, so an LRU cache keyed by
    ``(secret, date, region, service)`` turns four HMACs per request into a dictionary
    lookup. The cache lives in process memory only, next to the unsealed secrets the
    resolver already returned.

    Args:
        secret: the secret access key, UTF-8 bytes.
        date: the scope date, ``YYYYMMDD``.
        region: the scope region.
        service: the scope service.

    Returns:
        ``kSigning``.
    """
    k = hmac.digest(b"AWS4" + secret, date.encode(), "sha256")
    k = hmac.digest(k, region.encode("utf-8", "surrogatepass"), "sha256")
    k = hmac.digest(k, service.encode("utf-8", "surrogatepass"), "sha256")
    return hmac.digest(k, TERMINATOR.encode(), "sha256")


def sign(signing_key: bytes, to_sign: str) -> str:
    """The signature (spec Task 3): hex HMAC-SHA256 of the string to sign.

    Args:
        signing_key: from :func:`derive_signing_key`.
        to_sign: from :func:`string_to_sign`.

    Returns:
        64 lower-case hex characters.
    """
    return hmac.new(signing_key, encode_canonical(to_sign), hashlib.sha256).hexdigest()
