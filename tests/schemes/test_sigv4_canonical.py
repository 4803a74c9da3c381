"""Unit tests of the SigV4 canonical forms (the rules the vector suites exercise, in isolation)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from authgate.schemes.base import Headers, RequestView
from authgate.schemes.sigv4 import (
    EMPTY_SHA256,
    canonical_headers,
    canonical_query,
    canonical_uri,
    derive_signing_key,
    hashed_payload,
    parse_query,
    remove_dot_segments,
)


def request(
    headers: list[tuple[str, str]], authority: str = "h.example", body: bytes = b""
) -> RequestView:
    return RequestView("GET", "https", authority, "/", "", Headers(headers), body=body)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("//", "/"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/../..", "/"),
        ("/../../a", "/a"),
        ("//a//b//", "/a/b/"),
        ("/a/%2E%2E/b", "/a/%2E%2E/b"),  # encoded dots are not dot segments
    ],
)
def test_remove_dot_segments(raw: str, expected: str) -> None:
    assert remove_dot_segments(raw) == expected


@pytest.mark.parametrize(
    ("raw", "normalize", "double", "expected"),
    [
        ("/a b/ሴ", True, True, "/a%20b/%E1%88%B4"),
        ("/a%20b", True, True, "/a%2520b"),  # the wire path is encoded once more
        ("/a%20b", True, False, "/a%20b"),  # S3 style: encoded exactly once
        ("/a%2fb", True, False, "/a/b"),  # S3 decodes the key, "/" stays bare
        ("/-._~AZaz09", True, True, "/-._~AZaz09"),
        ("//x/./y", False, True, "//x/./y"),
    ],
)
def test_canonical_uri(raw: str, normalize: bool, double: bool, expected: str) -> None:
    assert canonical_uri(raw, normalize=normalize, double_encode=double) == expected


def test_query_is_decoded_reencoded_and_sorted() -> None:
    pairs = parse_query("b=2&a=%7e&a=1&c&%e1%88%b4=x&sp=a+b&plus=a%2Bb&&")
    assert canonical_query(pairs) == ("%E1%88%B4=x&a=1&a=~&b=2&c=&plus=a%2Bb&sp=a%20b")


def test_query_exclude_drops_only_that_name() -> None:
    pairs = parse_query("X-Amz-Signature=abc&x-amz-signature=keep&a=1")
    assert canonical_query(pairs, exclude="X-Amz-Signature") == "a=1&x-amz-signature=keep"


def test_invalid_percent_escapes_do_not_raise() -> None:
    assert canonical_query(parse_query("a=%zz&b=%&c=%FF")) == "a=%25zz&b=%25&c=%FF"


def test_canonical_headers_trim_collapse_and_join_in_order() -> None:
    req = request([("X-A", "  b   c \t d "), ("x-a", "z"), ("x-a", "a"), ("X-B", "")])
    assert canonical_headers(req, ["host", "x-a", "x-b"]) == "host:h.example\nx-a:b c d,z,a\nx-b:"


def test_canonical_headers_missing_signed_header() -> None:
    assert canonical_headers(request([]), ["host", "x-missing"]) is None
    assert canonical_headers(request([], authority=""), ["host"]) is None


def test_hashed_payload() -> None:
    assert hashed_payload(request([])) == EMPTY_SHA256
    assert hashed_payload(request([], body=b"abc")) == hashlib.sha256(b"abc").hexdigest()
    assert hashed_payload(request([("x-amz-content-sha256", "UNSIGNED-PAYLOAD")])) == (
        "UNSIGNED-PAYLOAD"
    )


def test_signing_key_matches_the_aws_documentation_example() -> None:
    # AWS General Reference, "Examples of how to derive a signing key for SigV4".
    key = derive_signing_key(
        b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    k = hmac.digest(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215", "sha256")
    for part in (b"us-east-1", b"iam", b"aws4_request"):
        k = hmac.digest(k, part, "sha256")
    assert k == key
