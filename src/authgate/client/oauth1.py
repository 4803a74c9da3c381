"""OAuth 1.0a request signing (RFC 5849): HMAC-SHA1, HMAC-SHA256, RSA-SHA256, PLAINTEXT.

The signature base string is built by :func:`authgate.schemes.oauth1.parse_request`, the
function the server verifies with, from the request carrying its ``oauth_*`` parameters
(with a placeholder signature, which the base string leaves out); oauthlib checks the
result independently in the tests.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Generator
from typing import Literal
from urllib.parse import quote

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authgate.client._view import request_view
from authgate.crypto.secret import Secret
from authgate.schemes.oauth1 import SIGNATURE_METHODS, parse_request, sign_hmac, sign_plaintext

__all__ = ["OAuth1Auth"]

_PLACEHOLDER = "0"


def _enc(value: str) -> str:
    return quote(value, safe="-._~")


class OAuth1Auth(httpx2.Auth):
    """Signs requests as an OAuth 1.0a consumer (an authgate key pair: key and secret).

    Args:
        consumer_key: ``oauth_consumer_key`` (the key pair's key).
        consumer_secret: the consumer secret (the key pair's secret); unused by RSA-SHA256.
        token: ``oauth_token``, when the request is made for a resource owner.
        token_secret: that token's secret.
        signature_method: one of ``HMAC-SHA1``, ``HMAC-SHA256``, ``RSA-SHA256``, ``PLAINTEXT``.
        rsa_key: a PEM private key for ``RSA-SHA256``.
        placement: ``header`` (``Authorization: OAuth``) or ``query``.
        realm: the header's ``realm`` (not signed).
        clock: returns the Unix time; injected by tests.
        nonce: returns a fresh nonce; injected by tests.
    """

    requires_request_body = True

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str = "",
        *,
        token: str | None = None,
        token_secret: str = "",
        signature_method: str = "HMAC-SHA1",
        rsa_key: bytes | None = None,
        placement: Literal["header", "query"] = "header",
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        if signature_method not in SIGNATURE_METHODS:
            raise ValueError(f"signature_method must be one of {', '.join(SIGNATURE_METHODS)}")
        if placement not in ("header", "query"):
            raise ValueError("placement must be 'header' or 'query'")
        self._rsa: rsa.RSAPrivateKey | None = None
        if signature_method == "RSA-SHA256":
            key = serialization.load_pem_private_key(rsa_key or b"", password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError("RSA-SHA256 needs an RSA private key")
            self._rsa = key
        self.consumer_key, self.token = consumer_key, token
        self.signature_method, self.placement, self.realm = signature_method, placement, realm
        self._consumer_secret, self._token_secret = Secret(consumer_secret), Secret(token_secret)
        self._clock, self._nonce = clock, nonce

    def __repr__(self) -> str:
        return (
            f"OAuth1Auth(consumer_key={self.consumer_key!r}, "
            f"signature_method={self.signature_method!r}, consumer_secret=<redacted>)"
        )

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        params = [
            ("oauth_consumer_key", self.consumer_key),
            ("oauth_nonce", self._nonce()),
            ("oauth_signature_method", self.signature_method),
            ("oauth_timestamp", str(int(self._clock()))),
            ("oauth_version", "1.0"),
        ]
        if self.token is not None:
            params.append(("oauth_token", self.token))
        original_query = request.url.query.decode("ascii")
        self._place(request, original_query, [*params, ("oauth_signature", _PLACEHOLDER)])
        signature = self._signature(parse_request(request_view(request)).base_string)
        self._place(request, original_query, [*params, ("oauth_signature", signature)])
        yield request

    def _signature(self, base_string: str) -> str:
        if self._rsa is not None:
            raw = self._rsa.sign(base_string.encode(), padding.PKCS1v15(), hashes.SHA256())
            return base64.b64encode(raw).decode("ascii")
        consumer, token = self._consumer_secret.reveal(), self._token_secret.reveal()
        if self.signature_method == "PLAINTEXT":
            return sign_plaintext(consumer, token)
        return sign_hmac(self.signature_method, base_string, consumer, token)

    def _place(self, request: httpx2.Request, query: str, params: list[tuple[str, str]]) -> None:
        if self.placement == "header":
            pieces = [f'realm="{self.realm}"'] if self.realm is not None else []
            pieces += [f'{k}="{_enc(v)}"' for k, v in params]
            request.headers["Authorization"] = "OAuth " + ", ".join(pieces)
            return
        extra = "&".join(f"{k}={_enc(v)}" for k, v in params)
        request.url = request.url.copy_with(
            query=(f"{query}&{extra}" if query else extra).encode("ascii")
        )
