"""HMACAuth: RFC 9421 Appendix B.2.5, the http-message-signatures verifier, the simple scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import warnings

import httpx2
import pytest
import requests
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.signatures import SignatureVerifyWarning

from authgate.client import HMACAuth

# RFC 9421 Appendix B.1.5, test-shared-secret
SHARED = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)


def signed(auth: HMACAuth, request: httpx2.Request) -> httpx2.Request:
    return next(auth.auth_flow(request))


def test_rfc9421_appendix_b_2_5() -> None:
    request = httpx2.Request(
        "POST",
        "http://example.com/foo?param=Value&Pet=dog",
        headers={"Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json"},
        content=b'{"hello": "world"}',
    )
    auth = HMACAuth(
        "test-shared-secret",
        SHARED,
        components=("date", "@authority", "content-type"),
        label="sig-b25",
        content_digest=False,
        alg=False,
        nonce=None,
        clock=lambda: 1618884473,
    )
    out = signed(auth, request)
    assert out.headers["signature-input"] == (
        'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
    )
    assert out.headers["signature"] == "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"


def test_http_message_signatures_verifies_ours() -> None:
    secret = "s3cr3t-of-the-pair"

    class Keys(HTTPSignatureKeyResolver):
        def resolve_public_key(self, key_id: str) -> bytes:
            assert key_id == "AK1"
            return secret.encode()

        def resolve_private_key(self, key_id: str) -> bytes:
            return secret.encode()

    body = b'{"name": "signed"}'
    request = httpx2.Request(
        "POST",
        "https://api.example.com/v1/keys?b=2&a=1",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    out = signed(HMACAuth("AK1", secret), request)
    prepared = requests.Request(
        "POST", str(out.url), headers=dict(out.headers), data=out.content
    ).prepare()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=Keys())
    verifier.allow_label_only_selection = True
    warnings.simplefilter("ignore", SignatureVerifyWarning)  # no tag: we select by label
    results = verifier.verify(
        prepared,
        expect_label="sig1",
        require_components=("@method", "@authority", "@target-uri", "content-digest"),
        body=body,
    )
    assert len(results) == 1
    tampered = requests.Request(
        "POST", str(out.url).replace("a=1", "a=2"), headers=dict(out.headers), data=body
    ).prepare()
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        verifier.verify(tampered, expect_label="sig1", body=body)


def test_simple_scheme_as_docs_schemes_hmac_simple_specify() -> None:
    body = b'{"name": "signed", "scopes": ["read"]}'
    request = httpx2.Request(
        "POST", "http://127.0.0.1:8000/v1/keys?sort=asc&limit=10", content=body
    )
    out = signed(
        HMACAuth(
            "AK1",
            "pair-secret",
            scheme="simple",
            clock=lambda: 1700000000.5,
            nonce=lambda: "5f2b8c0e9d4a7b61",
        ),
        request,
    )
    lines = [
        "POST",
        "/v1/keys",
        "limit=10&sort=asc",
        "host:127.0.0.1:8000",
        "x-authgate-date:1700000000",
        "x-authgate-nonce:5f2b8c0e9d4a7b61",
        hashlib.sha256(body).hexdigest(),
    ]
    sig = hmac.new(b"pair-secret", "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    assert out.headers["authorization"] == (
        "HMAC-SHA256 Credential=AK1, SignedHeaders=host;x-authgate-date;x-authgate-nonce, "
        f"Signature={sig}"
    )
    assert out.headers["x-authgate-date"] == "1700000000"
