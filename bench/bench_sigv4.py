"""SigV4 verification cost: authgate vs botocore vs the raw HMAC primitive.

Run: ``python bench/bench_sigv4.py``. Prints microseconds per request for

- ``authgate authenticate``: the full ``SigV4Authenticator.authenticate`` (parse, checks,
  body hash, in-memory key lookup, canonical request, cached signing key, HMAC, compare);
- ``authgate signature``: the sans-I/O part alone (``parse_claim`` + ``compute_signature``);
- ``botocore signature``: botocore computing the same signature for the same request
  (``canonical_request`` → ``string_to_sign`` → ``signature``, i.e. ``add_auth`` without
  mutating the request);
- ``botocore add_auth``: botocore signing the request outright;
- ``raw primitive``: the 4 + 1 HMAC-SHA256 calls plus the SHA-256 of a canonical request;

and the ratio authgate / botocore (target < 1.0). Iterations are bounded; < 30 s total.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import timeit
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from authgate.crypto.secret import Secret
from authgate.identity import Identity
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.sigv4 import SigV4Authenticator, compute_signature, parse_claim

KEY = "AKIABENCH00000000001"
SECRET = "bench/K7MDENG+bPxRfiCYEXAMPLEKEY"
SIGNED_AT = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/items/42?limit=10&tag=a&q=x%20y"
BODY = json.dumps({"name": "widget", "price": 9.5, "tags": ["a", "b"]}).encode()
HEADERS = {"Content-Type": "application/json", "User-Agent": "bench/1.0", "X-Tenant": "acme"}


class Keys:
    def __init__(self) -> None:
        self.pair = KeyPairCredential(
            KEY, Secret(SECRET), Identity(subject="bench", principal_id="u", scheme="keypair")
        )

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return self.pair if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (in-memory resolver) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("coroutine suspended")


def botocore_request() -> AWSRequest:
    return AWSRequest(method="POST", url=URL, headers=dict(HEADERS), data=BODY)


def signed_view() -> tuple[RequestView, botocore.auth.SigV4Auth]:
    botocore.auth.get_current_datetime = lambda: SIGNED_AT  # freeze botocore's clock
    signer = botocore.auth.SigV4Auth(Credentials(KEY, SECRET), "execute-api", "us-east-1")
    req = botocore_request()
    signer.add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = [*prepared.headers.items(), ("Host", parts.netloc)]
    view = RequestView(
        "POST", "https", parts.netloc, parts.path, parts.query, Headers(headers), body=BODY
    )
    return view, signer


def best_of(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best per-call time in microseconds."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    view, signer = signed_view()
    auth = SigV4Authenticator(Keys(), clock=SIGNED_AT.timestamp)
    identity = drive(auth.authenticate(view))
    assert identity.scheme == "sigv4"

    secret = SECRET.encode()

    def ours_full() -> None:
        drive(auth.authenticate(view))

    def ours_core() -> None:
        compute_signature(view, parse_claim(view), secret)

    fresh = botocore_request()
    fresh.context["timestamp"] = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(fresh)
    expected = (view.headers.get("authorization") or "")[-64:]

    def botocore_signature() -> str:
        canonical = signer.canonical_request(fresh)
        return str(signer.signature(signer.string_to_sign(fresh, canonical), fresh))

    # Same request, same signature: the three measure the same work.
    assert botocore_signature() == expected == compute_signature(view, parse_claim(view), secret)

    def botocore_add_auth() -> None:
        signer.add_auth(botocore_request())

    canonical = signer.canonical_request(fresh).encode()

    def raw_primitive() -> bytes:
        k = hmac.digest(b"AWS4" + secret, b"20250102", "sha256")
        k = hmac.digest(k, b"us-east-1", "sha256")
        k = hmac.digest(k, b"execute-api", "sha256")
        k = hmac.digest(k, b"aws4_request", "sha256")
        digest = hashlib.sha256(canonical).hexdigest()
        return hmac.digest(k, digest.encode(), "sha256")

    n = 20_000
    results = {
        "authgate authenticate (full)": best_of(ours_full, n),
        "authgate signature (sans-I/O)": best_of(ours_core, n),
        "botocore signature": best_of(botocore_signature, n),
        "botocore add_auth": best_of(botocore_add_auth, n // 2),
        "raw primitive (5 HMAC + SHA-256)": best_of(raw_primitive, n),
    }
    width = max(map(len, results))
    print(f"SigV4 verification, POST with JSON body and query, {len(view.headers.items())} headers")
    for name, micros in results.items():
        print(f"  {name:<{width}}  {micros:8.2f} µs")
    full = results["authgate authenticate (full)"]
    core = results["authgate signature (sans-I/O)"]
    boto = results["botocore signature"]
    raw = results["raw primitive (5 HMAC + SHA-256)"]
    print(f"  ratio authgate full / botocore signature   {full / boto:6.2f}  (target < 1.0)")
    print(f"  ratio authgate core / botocore signature   {core / boto:6.2f}")
    print(
        f"  ratio authgate full / botocore add_auth    {full / results['botocore add_auth']:6.2f}"
    )
    print(f"  ratio authgate full / raw primitive        {full / raw:6.2f}")


if __name__ == "__main__":
    main()
