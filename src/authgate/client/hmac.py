"""Key-pair HMAC signing: RFC 9421 ``hmac-sha256`` and the simple ``HMAC-SHA256`` scheme.

Both build their string to sign with the server's own functions
(:func:`authgate.schemes.httpsig.signature_base`,
:func:`authgate.schemes.hmac_simple.canonical_string`); the HMAC key is the UTF-8 bytes of
the key pair's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Sequence
from typing import Literal

import httpx2

from authgate.client._view import request_view
from authgate.crypto.secret import Secret
from authgate.schemes.hmac_simple import DATE_HEADER, NONCE_HEADER, canonical_string
from authgate.schemes.httpsig import HMAC_SHA256, InnerList, Item, signature_base
from authgate.schemes.httpsig._sf import serialize_inner_list

__all__ = ["DEFAULT_COMPONENTS", "HMACAuth"]

#: Covered by default: method, authority and the whole target URI (path and query);
#: ``content-digest`` (RFC 9530) is added whenever the request has a body.
DEFAULT_COMPONENTS = ("@method", "@authority", "@target-uri")
_SIMPLE_SIGNED = ("host", DATE_HEADER, NONCE_HEADER)


def _random_nonce() -> str:
    return secrets.token_hex(16)


class HMACAuth(httpx2.Auth):
    """Signs with a key pair's secret.

    Args:
        key: the key pair's key (``keyid`` / ``Credential``).
        secret: the key pair's secret.
        scheme: ``rfc9421`` (``Signature-Input``/``Signature``) or ``simple``
            (``Authorization: HMAC-SHA256 ...``, docs/schemes/hmac-simple.md).
        components: RFC 9421 covered components (``content-digest`` is added for a body).
        label: the RFC 9421 signature label.
        content_digest: add and cover ``Content-Digest`` (sha-256) when there is a body.
        alg: send the RFC 9421 ``alg`` parameter.
        clock: returns the Unix time; injected by tests.
        nonce: returns a fresh nonce; injected by tests. None sends no RFC 9421 nonce (a
            server that requires one, as authgate's does by default, then refuses).
    """

    requires_request_body = True

    def __init__(
        self,
        key: str,
        secret: str | bytes,
        *,
        scheme: Literal["rfc9421", "simple"] = "rfc9421",
        components: Sequence[str] = DEFAULT_COMPONENTS,
        label: str = "sig1",
        content_digest: bool = True,
        alg: bool = True,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] | None = _random_nonce,
    ) -> None:
        if scheme not in ("rfc9421", "simple"):
            raise ValueError("scheme must be 'rfc9421' or 'simple'")
        self.key, self.scheme, self.label = key, scheme, label
        self.components = tuple(components)
        # bytes (an RFC 9421 shared key) are held as latin-1 text, one character a byte
        self._raw = isinstance(secret, bytes)
        self._secret = Secret(secret.decode("latin-1") if isinstance(secret, bytes) else secret)
        self.content_digest, self.alg = content_digest, alg
        self._clock, self._nonce = clock, nonce

    def __repr__(self) -> str:
        return f"HMACAuth(key={self.key!r}, scheme={self.scheme!r}, secret=<redacted>)"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        if self.scheme == "simple":
            self._sign_simple(request)
        else:
            self._sign_rfc9421(request)
        yield request

    def _mac(self, data: bytes) -> bytes:
        key = self._secret.reveal().encode("latin-1") if self._raw else self._secret.reveal_bytes()
        return hmac.digest(key, data, hashlib.sha256)

    def _sign_simple(self, request: httpx2.Request) -> None:
        request.headers["X-Authgate-Date"] = str(int(self._clock()))
        request.headers["X-Authgate-Nonce"] = (self._nonce or _random_nonce)()
        to_sign = canonical_string(request_view(request), list(_SIMPLE_SIGNED))
        request.headers["Authorization"] = (
            f"HMAC-SHA256 Credential={self.key}, SignedHeaders={';'.join(_SIMPLE_SIGNED)}, "
            f"Signature={self._mac(to_sign.encode()).hex()}"
        )

    def _sign_rfc9421(self, request: httpx2.Request) -> None:
        components = list(self.components)
        if request.content and self.content_digest:
            digest = base64.b64encode(hashlib.sha256(request.content).digest()).decode()
            request.headers["Content-Digest"] = f"sha-256=:{digest}:"
            if "content-digest" not in components:
                components.append("content-digest")
        params: list[tuple[str, int | str]] = [("created", int(self._clock()))]
        params.append(("keyid", self.key))
        if self.alg:
            params.append(("alg", HMAC_SHA256))
        if self._nonce is not None:
            params.append(("nonce", self._nonce()))
        covered = InnerList(tuple(Item(c) for c in components), tuple(params))
        base = signature_base(request_view(request), covered)
        signature = base64.b64encode(self._mac(base)).decode()
        request.headers["Signature-Input"] = f"{self.label}={serialize_inner_list(covered)}"
        request.headers["Signature"] = f"{self.label}=:{signature}:"
