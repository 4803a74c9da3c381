"""RFC 5849 examples (tests/vectors/rfc-small) as generated test cases for the OAuth 1.0a scheme.

Each case rebuilds the request as a RequestView, has :mod:`authgate.schemes.oauth1` compute
the signature base string and the signature, and compares them with the vector.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from authgate.crypto.secret import Secret
from authgate.errors import InvalidCredentials, InvalidRequest
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.oauth1 import OAuth1Authenticator, parse_request, sign_hmac

VECTORS = Path(__file__).parents[1] / "vectors" / "rfc-small" / "rfc_small_vectors.json"


DATA: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))


def _params(key: str, cases: list[tuple[str, Any]]) -> list[Any]:
    assert cases, f"no {key} cases in {VECTORS}"
    return [pytest.param(name, case, id=name) for name, case in cases]


def _section_3_4_cases() -> list[tuple[str, Any]]:
    vector = DATA["rfc5849_oauth1"]
    return [(method, vector) for method in vector["signatures"]]


def _section_1_2_cases() -> list[tuple[str, Any]]:
    return [
        (case["name"].replace(" ", "-"), case)
        for case in DATA["rfc5849_section_1_2_examples"]["cases"]
    ]


def _escape(value: str) -> str:
    return quote(value, safe="~")  # RFC 5849 §3.6


def _header(case: dict[str, Any]) -> str:
    """The §3.5.1 Authorization header the RFC's client sends for a §1.2 example."""
    params = {**case["oauth"], "oauth_signature": case["signature"]}
    items = [f'realm="{case["realm"]}"'] + [f'{k}="{_escape(v)}"' for k, v in params.items()]
    return "OAuth " + ", ".join(items)


def _section_1_2_view(case: dict[str, Any]) -> RequestView:
    url = urlsplit(case["url"])
    return RequestView(
        method=case["method"],
        scheme=url.scheme,
        authority=url.netloc,
        path=url.path,
        query=url.query,
        headers=Headers([("authorization", _header(case))]),
    )


@pytest.mark.parametrize(("method", "vector"), _params("section-3.4", _section_3_4_cases()))
def test_section_3_4_base_string_and_signature(method: str, vector: dict[str, Any]) -> None:
    """§3.4.1 example: query + form body + header parameters; oauthlib's HMAC signatures."""
    url = urlsplit(vector["base_string_uri"])
    view = RequestView(
        method=vector["method"],
        scheme=url.scheme,
        authority=url.netloc,
        path=url.path,
        query=vector["uri_query"],
        headers=Headers(
            [
                ("authorization", vector["authorization_header"]),
                ("content-type", "application/x-www-form-urlencoded"),
            ]
        ),
        body=vector["body_form"].encode(),
    )
    parsed = parse_request(view)
    assert parsed.base_string == vector["signature_base_string"]
    assert (
        vector["normalized_parameters"].replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        in parsed.base_string
    )
    assert parsed.consumer_key == "9djdj82h48djs9d2"
    assert parsed.nonce == "7d8f3e4a"
    assert parsed.timestamp == 137131201
    assert parsed.signature == "djosJKDKJSD8743243/jdk33klY="  # percent-decoded from the header

    args = (
        parsed.base_string,
        vector["oauthlib_client_secret"],
        vector["oauthlib_resource_owner_secret"],
    )
    if method in ("HMAC-SHA1", "HMAC-SHA256"):
        assert sign_hmac(method, *args) == vector["signatures"][method]
    else:  # e.g. HMAC-SHA512: a method authgate does not offer
        with pytest.raises(InvalidRequest):
            sign_hmac(method, *args)


@pytest.mark.parametrize(("name", "case"), _params("section-1.2", _section_1_2_cases()))
def test_section_1_2_base_string_and_signature(name: str, case: dict[str, Any]) -> None:
    """§1.2 examples: the HMAC-SHA1 base string and signature of each request."""
    parsed = parse_request(_section_1_2_view(case))
    assert parsed.base_string == case["signature_base_string"]
    assert parsed.signature == case["signature"]
    assert parsed.signature_method == case["oauth"]["oauth_signature_method"]
    computed = sign_hmac(
        parsed.signature_method, parsed.base_string, case["consumer_secret"], case["token_secret"]
    )
    assert computed == case["signature"]


class _OneKeyPair:
    """A CredentialResolver holding one key pair."""

    def __init__(self, key: str, secret: str) -> None:
        self.cred = KeyPairCredential(
            key=key,
            secret=Secret(secret),
            identity=Identity(subject="printer", principal_id="p-1", scheme="keypair"),
        )

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return self.cred if key == self.cred.key else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


@pytest.mark.parametrize(("name", "case"), _params("section-1.2-e2e", _section_1_2_cases()))
async def test_section_1_2_through_the_authenticator(name: str, case: dict[str, Any]) -> None:
    """The whole verifier, at the example's own time: accepted only without a token."""
    oauth = case["oauth"]
    auth = OAuth1Authenticator(
        _OneKeyPair(oauth["oauth_consumer_key"], case["consumer_secret"]),
        None,
        MemoryReplayCache(),
        clock=lambda: float(oauth["oauth_timestamp"]),
    )
    view = _section_1_2_view(case)
    assert auth.is_present(view)
    if "oauth_token" in oauth:  # three-legged examples: a one-legged endpoint refuses them
        with pytest.raises(InvalidCredentials):
            await auth.authenticate(view)
    else:
        identity = await auth.authenticate(view)
        assert (identity.subject, identity.scheme) == ("printer", "oauth1")
