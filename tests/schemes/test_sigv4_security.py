"""SigV4 attack catalogue (SECURITY.md, "SigV4" line) and malformed input.

Every refusal of a present signature is 403 ``SignatureMismatch`` with one body, as AWS
answers; malformed input is a 400 ``InvalidRequest``; nothing else ever escapes. Requests
are signed by botocore, an independent implementation, at a fixed time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authgate.crypto.secret import Secret
from authgate.errors import AuthError, InvalidRequest, SignatureMismatch, render
from authgate.identity import Identity
from authgate.schemes.base import Authenticator, Headers, KeyPairCredential, RequestView
from authgate.schemes.sigv4 import (
    MAX_AUTHORIZATION_LENGTH,
    SigV4Authenticator,
    derive_signing_key,
    parse_claim,
)
from authgate.schemes.sigv4._verify import compute_signature

KEY = "AKIAAUTHGATETEST0001"
SECRET = "s3cr3t/K7MDENG+bPxRfiCYEXAMPLEKEY-authgate"
SIGNED_AT = dt.datetime(2024, 5, 17, 9, 30, 0, tzinfo=dt.UTC)
T0 = SIGNED_AT.timestamp()
URL = "https://api.example.com/v1/things?limit=10&after=abc"


class Keys:
    def __init__(self) -> None:
        self.pairs = {
            KEY: KeyPairCredential(
                key=KEY,
                secret=Secret(SECRET),
                identity=Identity(subject="alice", principal_id="u1", scheme="keypair"),
            )
        }

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return self.pairs.get(key)

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


class Tokens:
    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.calls: list[tuple[str, str]] = []

    async def verify(self, token: str, key: str) -> bool:
        self.calls.append((token, key))
        return self.accept


@pytest.fixture(autouse=True)
def frozen_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT)
    yield


def view_of(req: AWSRequest) -> RequestView:
    """What a server receives for a botocore-signed request."""
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = [(k, v) for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    body = prepared.body
    if isinstance(body, str):
        body = body.encode()
    return RequestView(
        method=prepared.method,
        scheme=parts.scheme,
        authority=parts.netloc,
        path=parts.path,
        query=parts.query,
        headers=Headers(headers),
        body=body or b"",
    )


def signed(
    method: str = "GET",
    url: str = URL,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    key: str = KEY,
    secret: str = SECRET,
    region: str = "us-east-1",
    service: str = "execute-api",
    token: str | None = None,
    presign: int | None = None,
) -> RequestView:
    creds = Credentials(key, secret, token)
    req = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    if presign is None:
        botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    else:
        botocore.auth.SigV4QueryAuth(creds, service, region, expires=presign).add_auth(req)
    return view_of(req)


def replace_header(view: RequestView, name: str, value: str | None) -> RequestView:
    items = [(k, v) for k, v in view.headers.items() if k != name]
    if value is not None:
        items.append((name, value))
    return RequestView(
        method=view.method,
        scheme=view.scheme,
        authority=view.authority,
        path=view.path,
        query=view.query,
        headers=Headers(items),
        body=view.body,
    )


def with_query(view: RequestView, query: str) -> RequestView:
    return RequestView(
        method=view.method,
        scheme=view.scheme,
        authority=view.authority,
        path=view.path,
        query=query,
        headers=view.headers,
        body=view.body,
    )


def authenticator(now: float = T0, **kwargs: Any) -> SigV4Authenticator:
    return SigV4Authenticator(Keys(), clock=lambda: now, **kwargs)


async def refused(view: RequestView, auth: SigV4Authenticator | None = None) -> SignatureMismatch:
    auth = auth or authenticator()
    assert auth.is_present(view)
    with pytest.raises(SignatureMismatch) as info:
        await auth.authenticate(view)
    assert info.value.status == 403
    return info.value


def test_implements_authenticator_protocol() -> None:
    auth = authenticator()
    assert isinstance(auth, Authenticator)
    assert (auth.name, auth.needs_body) == ("sigv4", True)
    assert auth.challenge.startswith("AWS4-HMAC-SHA256")


async def test_baseline_botocore_request_is_accepted() -> None:
    identity = await authenticator().authenticate(signed())
    assert (identity.subject, identity.scheme) == ("alice", "sigv4")


# --- SECURITY.md: X-Amz-Date more than 5 min off, either way -----------------------------


@pytest.mark.parametrize("offset", [-300.0, 0.0, 300.0])
async def test_amz_date_within_5_min_either_way_is_accepted(offset: float) -> None:
    identity = await authenticator(now=T0 + offset).authenticate(signed())
    assert identity.scheme == "sigv4"


@pytest.mark.parametrize("offset", [-301.0, 301.0, -86400.0, 86400.0])
async def test_amz_date_more_than_5_min_off_is_403(offset: float) -> None:
    await refused(signed(), authenticator(now=T0 + offset))


async def test_max_skew_is_configurable() -> None:
    view = signed()
    await refused(view, authenticator(now=T0 + 61, max_skew=60))
    assert (await authenticator(now=T0 + 59, max_skew=60).authenticate(view)).scheme == "sigv4"


# --- no date ------------------------------------------------------------------------------


async def test_no_date_is_403() -> None:
    error = await refused(replace_header(signed(), "x-amz-date", None))
    assert "X-Amz-Date" in error.reason


@pytest.mark.parametrize(
    "value", ["", "2024-05-17T09:30:00Z", "20240517T093000", "20241317T093000Z"]
)
async def test_unparseable_date_is_403(value: str) -> None:
    await refused(replace_header(signed(), "x-amz-date", value))


async def test_date_header_is_not_a_substitute_for_x_amz_date() -> None:
    view = replace_header(signed(), "x-amz-date", None)
    await refused(replace_header(view, "date", "Fri, 17 May 2024 09:30:00 GMT"))


# --- scope date/region/service mismatch ---------------------------------------------------


async def test_scope_region_mismatch_is_403() -> None:
    await refused(signed(region="eu-west-1"))


async def test_scope_service_mismatch_is_403() -> None:
    await refused(signed(service="s3"))


async def test_region_and_service_are_configurable() -> None:
    view = signed(region="eu-west-1", service="lambda")
    auth = authenticator(region="eu-west-1", service="lambda")
    assert (await auth.authenticate(view)).scheme == "sigv4"
    await refused(view)


async def test_scope_date_mismatch_is_403() -> None:
    view = signed()
    header = view.headers.get("authorization")
    assert header is not None
    # Scope says the day before X-Amz-Date; re-sign so only the date rule can refuse it.
    forged = replace_header(view, "authorization", header.replace("/20240517/", "/20240516/"))
    claim = parse_claim(forged)
    good = compute_signature(forged, claim, SECRET.encode())
    forged = replace_header(
        forged, "authorization", header.replace("/20240517/", "/20240516/")[:-64] + good
    )
    error = await refused(forged)
    assert "scope date" in error.reason


async def test_scope_terminator_other_than_aws4_request_is_403() -> None:
    view = signed()
    header = view.headers.get("authorization")
    assert header is not None
    await refused(replace_header(view, "authorization", header.replace("aws4_request", "aws5")))


# --- a signed header changed ---------------------------------------------------------------


async def test_signed_header_changed_is_403() -> None:
    view = signed(headers={"X-Tenant": "acme"})
    assert (await authenticator().authenticate(view)).scheme == "sigv4"
    await refused(replace_header(view, "x-tenant", "evil"))


async def test_signed_header_removed_is_403() -> None:
    await refused(replace_header(signed(headers={"X-Tenant": "acme"}), "x-tenant", None))


async def test_host_changed_is_403() -> None:
    await refused(replace_header(signed(), "host", "other.example.com"))


async def test_path_method_and_query_changes_are_403() -> None:
    view = signed()
    for forged in (
        RequestView("DELETE", view.scheme, view.authority, view.path, view.query, view.headers),
        RequestView("GET", view.scheme, view.authority, "/v1/admin", view.query, view.headers),
        with_query(view, "limit=1000&after=abc"),
        with_query(view, view.query + "&admin=1"),
    ):
        await refused(forged)


async def test_unsigned_header_may_change() -> None:
    view = signed()
    assert (await authenticator().authenticate(replace_header(view, "x-trace", "1"))).subject


# --- host not signed -----------------------------------------------------------------------


async def test_host_not_in_signed_headers_is_403_even_with_a_correct_signature() -> None:
    view = replace_header(signed(), "authorization", None)
    header = (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=x-amz-date, Signature={'0' * 64}"
    )
    view = replace_header(view, "authorization", header)
    good = compute_signature(view, parse_claim(view), SECRET.encode())
    view = replace_header(view, "authorization", header[:-64] + good)
    error = await refused(view)
    assert "host" in error.reason


async def test_presigned_without_host_signed_is_403() -> None:
    view = signed(presign=60)
    await refused(
        with_query(view, view.query.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-a"))
    )


# --- presigned URL expired; X-Amz-Expires over 7 days -------------------------------------


async def test_presigned_url_within_its_lifetime_is_accepted() -> None:
    view = signed(presign=3600)
    for now in (T0 - 300, T0, T0 + 3600):
        assert (await authenticator(now=now).authenticate(view)).scheme == "sigv4"


async def test_presigned_url_expired_is_403() -> None:
    error = await refused(signed(presign=3600), authenticator(now=T0 + 3601))
    assert "expired" in error.reason


async def test_presigned_url_from_the_future_is_403() -> None:
    await refused(signed(presign=3600), authenticator(now=T0 - 301))


async def test_presigned_expires_over_7_days_is_403() -> None:
    week = 7 * 24 * 3600
    assert (await authenticator().authenticate(signed(presign=week))).scheme == "sigv4"
    error = await refused(signed(presign=week + 1))
    assert "X-Amz-Expires" in error.reason


@pytest.mark.parametrize("expires", ["0", "-5", "abc", "1e3", "99999999999"])
async def test_presigned_bad_expires_is_403(expires: str) -> None:
    view = signed(presign=60)
    await refused(
        with_query(view, view.query.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}"))
    )


async def test_presigned_signature_changed_is_403() -> None:
    view = signed(presign=60)
    sig = view.query.rpartition("=")[2]
    flipped = ("1" if sig[0] == "0" else "0") + sig[1:]
    await refused(with_query(view, view.query[:-64] + flipped))


# --- payload hash mismatch -------------------------------------------------------------------


async def test_body_changed_without_hash_header_is_403() -> None:
    view = signed("POST", headers={"Content-Type": "application/json"}, body=b'{"n":1}')
    assert "x-amz-content-sha256" not in view.headers
    assert (await authenticator().authenticate(view)).scheme == "sigv4"
    tampered = RequestView(
        view.method, view.scheme, view.authority, view.path, view.query, view.headers,
        body=b'{"n":2}',
    )  # fmt: skip
    await refused(tampered)


async def test_content_sha256_not_matching_body_is_403() -> None:
    body = b'{"n":1}'
    good = hashlib.sha256(body).hexdigest()
    view = signed("POST", headers={"X-Amz-Content-SHA256": good}, body=body)
    assert (await authenticator().authenticate(view)).scheme == "sigv4"
    tampered = RequestView(
        view.method, view.scheme, view.authority, view.path, view.query, view.headers, body=b"x"
    )
    error = await refused(tampered)
    assert "x-amz-content-sha256" in error.reason


async def test_signed_content_sha256_that_lies_about_the_body_is_403() -> None:
    # The client signs a hash of another body: the signature is right, the body is not.
    lie = hashlib.sha256(b"something else").hexdigest()
    await refused(signed("POST", headers={"X-Amz-Content-SHA256": lie}, body=b'{"n":1}'))


async def test_unsigned_payload_skips_the_body_check() -> None:
    view = signed("POST", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, body=b"a")
    other = RequestView(
        view.method, view.scheme, view.authority, view.path, view.query, view.headers, body=b"b"
    )
    assert (await authenticator().authenticate(other)).scheme == "sigv4"


async def test_streaming_payload_is_refused() -> None:
    value = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    await refused(signed("PUT", headers={"X-Amz-Content-SHA256": value}, body=b"a"))


# --- unknown key / wrong secret: one body ---------------------------------------------------


async def test_unknown_key_and_wrong_secret_give_the_same_403_body() -> None:
    unknown = await refused(signed(key="AKIAUNKNOWNKEY000000"))
    wrong = await refused(signed(secret="not-the-secret"))
    off_by_one = await refused(signed(secret=SECRET[:-1] + "x"))
    rendered = [render(e) for e in (unknown, wrong, off_by_one)]
    assert rendered[0] == rendered[1] == rendered[2]
    status, _, body = rendered[0]
    assert status == 403
    assert SECRET.encode() not in body and KEY.encode() not in body
    assert unknown.reason != wrong.reason  # audit logs may tell them apart; clients cannot


async def test_signatures_are_compared_with_compare_digest_on_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[type, type]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    await refused(signed(secret="wrong"))
    assert seen and all(t == (bytes, bytes) for t in seen)


# --- session tokens -------------------------------------------------------------------------


async def test_session_token_without_verifier_is_403() -> None:
    await refused(signed(token="FwoGZXIvYXdzEXAMPLE"))


async def test_session_token_refused_by_verifier_is_403() -> None:
    tokens = Tokens(accept=False)
    await refused(signed(token="FwoGZXIvYXdzEXAMPLE"), authenticator(session_tokens=tokens))
    assert tokens.calls == [("FwoGZXIvYXdzEXAMPLE", KEY)]


async def test_session_token_is_checked_only_after_the_signature() -> None:
    tokens = Tokens(accept=True)
    await refused(signed(token="tok", secret="wrong"), authenticator(session_tokens=tokens))
    assert tokens.calls == []


async def test_presigned_session_token_without_verifier_is_403() -> None:
    await refused(signed(token="FwoGZXIvYXdzEXAMPLE", presign=60))


# --- malformed input: 400, never another exception -------------------------------------------

MALFORMED = {
    "bare algorithm": "AWS4-HMAC-SHA256",
    "no fields": "AWS4-HMAC-SHA256 ",
    "garbage": "AWS4-HMAC-SHA256 garbage",
    "missing signature": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date"
    ),
    "missing signed headers": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"Signature={'a' * 64}"
    ),
    "short credential": f"AWS4-HMAC-SHA256 Credential={KEY}/20240517, SignedHeaders=host, "
    f"Signature={'a' * 64}",
    "duplicate field": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"Credential=x/20240517/us-east-1/execute-api/aws4_request, SignedHeaders=host, "
        f"Signature={'a' * 64}"
    ),
    "unknown field": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=host, Signature={'a' * 64}, Extra=1"
    ),
    "short signature": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    ),
    "upper-case header name": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=Host, Signature={'a' * 64}"
    ),
    "unsorted signed headers": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=x-amz-date;host, Signature={'a' * 64}"
    ),
    "empty signed header": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=host;;x-amz-date, Signature={'a' * 64}"
    ),
    "non-ascii": (
        f"AWS4-HMAC-SHA256 Credential=ÄKID/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders=host, Signature={'a' * 64}"
    ),
    "huge": (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20240517/us-east-1/execute-api/aws4_request, "
        f"SignedHeaders={';'.join(f'h{i:06d}' for i in range(2000))}, Signature={'a' * 64}"
    ),
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_authorization_is_400(header: str) -> None:
    view = replace_header(signed(), "authorization", header)
    auth = authenticator()
    assert auth.is_present(view)
    with pytest.raises(InvalidRequest) as info:
        await auth.authenticate(view)
    assert info.value.status == 400


def test_authorization_header_length_is_capped() -> None:
    assert len(MALFORMED["huge"]) > MAX_AUTHORIZATION_LENGTH
    view = replace_header(signed(), "authorization", MALFORMED["huge"])
    with pytest.raises(InvalidRequest) as info:
        parse_claim(view)
    assert "too long" in info.value.reason


async def test_repeated_authorization_header_is_400() -> None:
    view = signed()
    header = view.headers.get("authorization")
    assert header is not None
    doubled = RequestView(
        view.method, view.scheme, view.authority, view.path, view.query,
        Headers([*view.headers.items(), ("authorization", header)]),
    )  # fmt: skip
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(doubled)


async def test_header_and_query_signature_together_is_400() -> None:
    presigned = signed(presign=60)
    both = replace_header(presigned, "authorization", signed().headers.get("authorization"))
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(both)


async def test_repeated_presign_parameter_is_400() -> None:
    view = signed(presign=60)
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(with_query(view, view.query + "&X-Amz-Expires=60"))


async def test_presign_missing_parameter_is_400() -> None:
    view = signed(presign=60)
    query = "&".join(p for p in view.query.split("&") if not p.startswith("X-Amz-Credential="))
    with pytest.raises(InvalidRequest):
        await authenticator().authenticate(with_query(view, query))


def test_other_schemes_are_not_present() -> None:
    auth = authenticator()
    base = replace_header(signed(), "authorization", None)
    assert not auth.is_present(base)
    for header in ("Bearer abc", "AWS4-HMAC-SHA256X", "AWS4-ECDSA-P256-SHA256 Credential=x"):
        assert not auth.is_present(replace_header(base, "authorization", header))
    assert not auth.is_present(with_query(base, "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"))


# --- fuzzing: only AuthError subclasses escape ----------------------------------------------

_PIECES = st.sampled_from(
    [
        "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=", "X-Amz-Date=",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=", "X-Amz-SignedHeaders=",
        "X-Amz-Expires=", "X-Amz-Signature=", "X-Amz-Security-Token=", KEY, "/", ",", ";",
        "=", "&", " ", "%", "%2F", "%E1%88%B4", "%FF", "20240517", "us-east-1",
        "execute-api", "aws4_request", "host", "x-amz-date", "a" * 64, "\x00", "é", "\ud800",
    ]
)  # fmt: skip
_FUZZ = st.one_of(st.text(), st.lists(st.one_of(_PIECES, st.text(max_size=5))).map("".join))


def _outcome(view: RequestView) -> None:
    auth = authenticator(session_tokens=Tokens(accept=True))
    try:
        asyncio.run(auth.authenticate(view))
    except AuthError as error:
        assert error.status in (400, 403)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=_FUZZ)
def test_fuzzed_authorization_header_only_raises_auth_errors(header: str) -> None:
    base = _BASE_HEADER_VIEW
    _outcome(replace_header(base, "authorization", "AWS4-HMAC-SHA256 " + header))
    _outcome(replace_header(base, "authorization", header))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_FUZZ, path=_FUZZ)
def test_fuzzed_presigned_query_only_raises_auth_errors(query: str, path: str) -> None:
    base = _BASE_QUERY_VIEW
    fuzzed = RequestView(
        base.method, base.scheme, base.authority, "/" + path,
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&" + query, base.headers,
    )  # fmt: skip
    _outcome(fuzzed)
    _outcome(with_query(base, base.query + "&" + query))


@settings(max_examples=200, deadline=None)
@given(date=_FUZZ, sha=_FUZZ, extra=_FUZZ)
def test_fuzzed_signed_header_values_only_raise_auth_errors(
    date: str, sha: str, extra: str
) -> None:
    view = replace_header(_BASE_HEADER_VIEW, "x-amz-date", date)
    view = replace_header(view, "x-amz-content-sha256", sha)
    _outcome(replace_header(view, "x-extra", extra))


def _base_views() -> tuple[RequestView, RequestView]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.auth, "get_current_datetime", lambda: SIGNED_AT)
        return signed(headers={"X-Extra": "1"}), signed(presign=60)


_BASE_HEADER_VIEW, _BASE_QUERY_VIEW = _base_views()


def test_signing_keys_are_cached() -> None:
    derive_signing_key.cache_clear()
    view = signed()
    for _ in range(3):
        asyncio.run(authenticator().authenticate(view))
    info = derive_signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)
