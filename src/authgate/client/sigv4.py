"""AWS Signature Version 4 (``AWS4-HMAC-SHA256``): Authorization header or presigned URL.

The canonical request, string to sign and signing key come from
:mod:`authgate.schemes.sigv4`, the functions the server verifies with (checked against the
AWS test suites); this module decides what to sign and where the result goes. The query is
signed in canonical order (sorted by encoded name, then value) whatever order it is sent in.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import httpx2

from authgate.client._view import request_view
from authgate.crypto.secret import Secret
from authgate.schemes.sigv4 import (
    ALGORITHM,
    UNSIGNED_PAYLOAD,
    canonical_request,
    derive_signing_key,
    sign,
    string_to_sign,
)

__all__ = ["AWSSigV4Auth"]

#: Signed whenever present, besides ``host`` and every ``x-amz-*`` header.
_ALWAYS_SIGNED = frozenset({"host", "content-type", "content-md5"})


class AWSSigV4Auth(httpx2.Auth):
    """Signs requests with an access key id and secret access key (or an authgate key pair).

    Args:
        access_key: the access key id (an authgate key pair's key).
        secret_key: the secret access key (the key pair's secret).
        region: the scope region (authgate's default is ``us-east-1``).
        service: the scope service (authgate's default is ``execute-api``).
        session_token: sent as ``X-Amz-Security-Token`` and signed.
        location: ``header`` (``Authorization``) or ``query`` (a presigned URL).
        expires: seconds a presigned URL stays valid (1 to 604800).
        unsigned_payload: sign ``UNSIGNED-PAYLOAD`` instead of the body's SHA-256.
        payload_header: send the payload hash as ``X-Amz-Content-SHA256`` (and sign it), as
            S3 requires; implied by ``unsigned_payload`` in the header form.
        signed_headers: more header names to sign when present.
        clock: returns the Unix time; injected by tests.
    """

    requires_request_body = True

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        region: str = "us-east-1",
        service: str = "execute-api",
        session_token: str | None = None,
        location: Literal["header", "query"] = "header",
        expires: int = 300,
        unsigned_payload: bool = False,
        payload_header: bool = False,
        signed_headers: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if location not in ("header", "query"):
            raise ValueError("location must be 'header' or 'query'")
        if not 1 <= expires <= 604800:
            raise ValueError("expires must be between 1 and 604800 seconds")
        self.access_key = access_key
        self._secret = Secret(secret_key)
        self._session_token = Secret(session_token) if session_token else None
        self.region, self.service, self.location = region, service, location
        self.expires, self.unsigned_payload = expires, unsigned_payload
        self.payload_header = payload_header
        self.extra_signed = frozenset(h.lower() for h in signed_headers)
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"AWSSigV4Auth(access_key={self.access_key!r}, region={self.region!r}, "
            f"service={self.service!r}, location={self.location!r}, secret_key=<redacted>)"
        )

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        self.sign(request)
        yield request

    def sign(self, request: httpx2.Request) -> None:
        """Add the signature to ``request`` in place."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        for name in ("authorization", "x-amz-date", "x-amz-security-token"):
            request.headers.pop(name, None)
        payload = (
            UNSIGNED_PAYLOAD
            if self.unsigned_payload
            else hashlib.sha256(request.content).hexdigest()
        )
        if self.location == "header":
            request.headers["X-Amz-Date"] = amz_date
            if self._session_token is not None:
                request.headers["X-Amz-Security-Token"] = self._session_token.reveal()
            if self.unsigned_payload or self.payload_header:
                request.headers["X-Amz-Content-SHA256"] = payload
        signed = self._signed_headers(request)
        if self.location == "query":
            self._add_presign_query(request, amz_date, scope, signed)
        canonical = canonical_request(
            request_view(request), signed, payload_hash=payload, presigned=True
        )
        if canonical is None:  # cannot happen: every signed name was read from the request
            raise ValueError("a signed header is missing")
        key = derive_signing_key(self._secret.reveal_bytes(), day, self.region, self.service)
        signature = sign(key, string_to_sign(amz_date, scope, canonical))
        if self.location == "header":
            request.headers["Authorization"] = (
                f"{ALGORITHM} Credential={self.access_key}/{scope}, "
                f"SignedHeaders={';'.join(signed)}, Signature={signature}"
            )
        else:
            _append_query(request, [("X-Amz-Signature", signature)])

    def _signed_headers(self, request: httpx2.Request) -> list[str]:
        names = {k.lower() for k in request.headers}
        return sorted(
            n
            for n in names
            if n in _ALWAYS_SIGNED or n in self.extra_signed or n.startswith("x-amz-")
        )

    def _add_presign_query(
        self, request: httpx2.Request, amz_date: str, scope: str, signed: list[str]
    ) -> None:
        params = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{self.access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(self.expires)),
            ("X-Amz-SignedHeaders", ";".join(signed)),
        ]
        if self._session_token is not None:
            params.append(("X-Amz-Security-Token", self._session_token.reveal()))
        _append_query(request, params)


def _append_query(request: httpx2.Request, params: list[tuple[str, str]]) -> None:
    query = request.url.query.decode("ascii")
    extra = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    request.url = request.url.copy_with(query=(f"{query}&{extra}" if query else extra).encode())
