"""Real SigV4 clients as peers: botocore and requests-aws4auth sign, authgate verifies.

Each signed request is turned into the RequestView a server would see (raw path and
query from the URL that goes on the wire, the headers the client sends plus the Host
header its HTTP library adds, the body bytes).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth

from authgate.crypto.secret import Secret
from authgate.errors import SignatureMismatch
from authgate.identity import Identity
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.sigv4 import SigV4Authenticator

KEY = "AKIAINTEROP000000001"
SECRET = "interop/Secret+Key=with/odd+chars"
SIGNED_AT = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
T0 = SIGNED_AT.timestamp()
AMZ_DATE = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
BASE = "https://abc123.execute-api.us-east-1.amazonaws.com"


class Keys:
    """Tiny in-memory CredentialResolver."""

    def __init__(self) -> None:
        self.pair = KeyPairCredential(
            key=KEY,
            secret=Secret(SECRET),
            identity=Identity(
                subject="bob", principal_id="u2", scheme="keypair", credential_id="kp-1"
            ),
        )

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return self.pair if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


class Tokens:
    def __init__(self, *tokens: str) -> None:
        self.tokens = set(tokens)

    async def verify(self, token: str, key: str) -> bool:
        return key == KEY and token in self.tokens


def view(method: str, url: str, headers: Mapping[str, str], body: Any) -> RequestView:
    parts = urlsplit(url)
    items = list(headers.items())
    if not any(k.lower() == "host" for k, _ in items):
        items.append(("Host", parts.netloc))  # what http.client / urllib3 add on the wire
    if isinstance(body, str):
        body = body.encode()
    return RequestView(
        method=method,
        scheme=parts.scheme,
        authority=parts.netloc,
        path=parts.path,
        query=parts.query,
        headers=Headers(items),
        body=body or b"",
    )


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT)
    yield


def auth(now: float | None = T0, **kwargs: Any) -> SigV4Authenticator:
    if now is None:
        return SigV4Authenticator(Keys(), **kwargs)
    return SigV4Authenticator(Keys(), clock=lambda: now, **kwargs)


def boto(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    data: bytes | str = b"",
    token: str | None = None,
    presign: int | None = None,
    unsigned_payload: bool = False,
) -> RequestView:
    creds = Credentials(KEY, SECRET, token)
    req = AWSRequest(method=method, url=url, params=params or {}, headers=headers or {}, data=data)
    if unsigned_payload:
        req.context["payload_signing_enabled"] = False
    if presign is None:
        botocore.auth.SigV4Auth(creds, "execute-api", "us-east-1").add_auth(req)
    else:
        botocore.auth.SigV4QueryAuth(creds, "execute-api", "us-east-1", expires=presign).add_auth(
            req
        )
    prepared = req.prepare()
    return view(prepared.method, prepared.url, prepared.headers, prepared.body)


def aws4auth(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    frozen: bool = True,
) -> RequestView:
    signer = AWS4Auth(KEY, SECRET, "us-east-1", "execute-api", session_token=token)
    hdrs = dict(headers or {})
    if frozen:
        hdrs["X-Amz-Date"] = AMZ_DATE  # the client signs with the date it finds here
    prepared = requests.Request(
        method, url, params=params, json=json_body, data=data, headers=hdrs, auth=signer
    ).prepare()
    assert prepared.url is not None and prepared.method is not None
    return view(prepared.method, prepared.url, prepared.headers, prepared.body)


# --- botocore ----------------------------------------------------------------------------


async def test_botocore_get_with_query(frozen: None) -> None:
    request = boto("GET", f"{BASE}/prod/items?limit=10&tag=b&tag=a&q=caf%C3%A9%20au%20lait")
    identity = await auth().authenticate(request)
    assert (identity.subject, identity.scheme, identity.credential_id) == ("bob", "sigv4", "kp-1")


async def test_botocore_get_with_params(frozen: None) -> None:
    params = {"name": "José & Ana", "path": "/a/b", "empty": "", "sym": "~!*'()"}
    request = boto("GET", f"{BASE}/prod/people", params=params)
    assert "Jos%C3%A9" in request.query
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_botocore_encoded_and_dotted_path(frozen: None) -> None:
    request = boto("GET", f"{BASE}/prod/files/a%20b/./x/../caf%C3%A9.txt")
    assert "%20" in request.path and "/./" in request.path
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_botocore_post_json_body(frozen: None) -> None:
    body = json.dumps({"name": "widget", "price": 9.5}).encode()
    request = boto(
        "POST", f"{BASE}/prod/items", headers={"Content-Type": "application/json"}, data=body
    )
    assert "x-amz-content-sha256" not in request.headers
    assert (await auth().authenticate(request)).scheme == "sigv4"
    with pytest.raises(SignatureMismatch):
        await auth().authenticate(
            RequestView(
                request.method,
                request.scheme,
                request.authority,
                request.path,
                request.query,
                request.headers,
                body=body.replace(b"9.5", b"0.5"),
            )
        )


async def test_botocore_unsigned_payload(frozen: None) -> None:
    request = boto("PUT", f"{BASE}/prod/blob", data=b"\x00\x01binary", unsigned_payload=True)
    assert request.headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_botocore_presigned_url(frozen: None) -> None:
    request = boto("GET", f"{BASE}/prod/report?format=csv", presign=900)
    assert "X-Amz-Signature=" in request.query
    assert "authorization" not in request.headers
    assert (await auth(now=T0 + 899).authenticate(request)).scheme == "sigv4"
    with pytest.raises(SignatureMismatch):
        await auth(now=T0 + 901).authenticate(request)


async def test_botocore_session_token_with_verifier(frozen: None) -> None:
    request = boto("GET", f"{BASE}/prod/items", token="IQoJb3JpZ2luX2VjEXAMPLE//token==")
    verifier = Tokens("IQoJb3JpZ2luX2VjEXAMPLE//token==")
    assert (await auth(session_tokens=verifier).authenticate(request)).scheme == "sigv4"
    with pytest.raises(SignatureMismatch):
        await auth(session_tokens=Tokens("another")).authenticate(request)
    with pytest.raises(SignatureMismatch):
        await auth().authenticate(request)


async def test_botocore_presigned_session_token_with_verifier(frozen: None) -> None:
    request = boto("GET", f"{BASE}/prod/items", token="tok/en+1==", presign=60)
    assert "X-Amz-Security-Token=tok%2Fen%2B1%3D%3D" in request.query
    verifier = Tokens("tok/en+1==")
    assert (await auth(session_tokens=verifier).authenticate(request)).scheme == "sigv4"


async def test_botocore_live_clock() -> None:
    request = boto("GET", f"{BASE}/prod/items?x=1")
    assert (await auth(now=None).authenticate(request)).scheme == "sigv4"


# --- requests-aws4auth ----------------------------------------------------------------------


async def test_aws4auth_get_with_query() -> None:
    request = aws4auth("GET", f"{BASE}/prod/items", params={"limit": "10", "q": "a b/c"})
    assert "x-amz-content-sha256" in request.headers
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_aws4auth_post_json_body() -> None:
    request = aws4auth("POST", f"{BASE}/prod/items", json_body={"name": "widget", "n": [1, 2]})
    assert request.body and request.body.startswith(b"{")
    assert (await auth().authenticate(request)).scheme == "sigv4"
    tampered = RequestView(
        request.method,
        request.scheme,
        request.authority,
        request.path,
        request.query,
        request.headers,
        body=request.body + b" ",
    )
    with pytest.raises(SignatureMismatch):
        await auth().authenticate(tampered)


async def test_aws4auth_unsigned_payload_header() -> None:
    # The client always computes the real hash; an explicit header is kept as given.
    request = aws4auth("PUT", f"{BASE}/prod/blob", data=b"abc")
    assert request.headers.get("x-amz-content-sha256") != "UNSIGNED-PAYLOAD"
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_aws4auth_session_token_with_verifier() -> None:
    request = aws4auth("GET", f"{BASE}/prod/items", token="FQoGZXIvYXdzEXAMPLE")
    assert request.headers.get("x-amz-security-token") == "FQoGZXIvYXdzEXAMPLE"
    verifier = Tokens("FQoGZXIvYXdzEXAMPLE")
    assert (await auth(session_tokens=verifier).authenticate(request)).scheme == "sigv4"
    with pytest.raises(SignatureMismatch):
        await auth().authenticate(request)


async def test_aws4auth_encoded_path() -> None:
    request = aws4auth("DELETE", f"{BASE}/prod/items/a%20b/caf%C3%A9")
    assert (await auth().authenticate(request)).scheme == "sigv4"


async def test_aws4auth_live_clock() -> None:
    request = aws4auth("GET", f"{BASE}/prod/items", frozen=False)
    assert abs(time.time() - T0) > 3600  # the frozen time is not now, so the clock matters
    assert (await auth(now=None).authenticate(request)).scheme == "sigv4"
