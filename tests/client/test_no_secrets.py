"""No secret in any auth object's repr or str, nor in the token cache's."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authgate.client import (
    APIKeyAuth,
    AuthgateKeyPair,
    AWSSigV4Auth,
    BasicAuth,
    BearerAuth,
    HMACAuth,
    OAuth1Auth,
    OAuth2ClientCredentials,
)

SECRET = "S3CRET-value-0123456789"
RSA_PEM = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)


@pytest.mark.parametrize(
    "auth",
    [
        BasicAuth("user", SECRET),
        BearerAuth(SECRET),
        APIKeyAuth(SECRET),
        APIKeyAuth(SECRET, location="query"),
        AWSSigV4Auth("AK", SECRET, session_token=SECRET),
        HMACAuth("AK", SECRET),
        HMACAuth("AK", SECRET.encode()),
        OAuth1Auth("ck", SECRET, token="t", token_secret=SECRET),
        OAuth1Auth("ck", signature_method="RSA-SHA256", rsa_key=RSA_PEM),
        AuthgateKeyPair("http://x", "AK", SECRET),
        OAuth2ClientCredentials("http://x/token", "cid", SECRET),
    ],
    ids=lambda a: type(a).__name__,
)
def test_repr_and_str_hide_secrets(auth: object) -> None:
    for text in (repr(auth), str(auth), repr(vars(auth)) if hasattr(auth, "__dict__") else ""):
        assert SECRET not in text
        assert "PRIVATE KEY" not in text
