"""Per-request cost of OAuth 1.0a verification: authgate vs oauthlib's server vs one HMAC.

Run: ``python bench/bench_oauth1.py [--requests N] [--rounds R]``. Bounded: the default
run takes a few seconds (well under 30 s).

Every request is signed by requests-oauthlib (HMAC-SHA1, Authorization header) with its
own nonce, so each verification does the full work, replay check included:

- **authgate**: ``OAuth1Authenticator.authenticate`` (parse, base string, HMAC, constant-time
  compare, timestamp window, nonce stored in ``MemoryReplayCache``);
- **oauthlib**: ``oauthlib.oauth1.SignatureOnlyEndpoint.validate_request`` with a minimal
  ``RequestValidator`` (dict of secrets, a set of seen nonces) — the peer;
- **raw**: one ``hmac.new(key, base_string, sha1).digest()``, the primitive alone.

Figures are ratios from one run on one machine, never absolute targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from requests_oauthlib import OAuth1

from authgate.crypto.secret import Secret
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.oauth1 import OAuth1Authenticator, parse_request

KEY = "agkconsumerkey0000000001"  # 24 safe characters: inside oauthlib's default length rule
SECRET = "bench-secret-7f9c2d1e0b8a6f4c"
URL = "https://api.example.com/v1/things?limit=10&cursor=abc123&fields=id%2Cname"
IDENTITY = Identity(subject="bench", principal_id="u-bench", scheme="keypair")


class Resolver:
    """A one-key CredentialResolver."""

    def __init__(self) -> None:
        self._cred = KeyPairCredential(key=KEY, secret=Secret(SECRET), identity=IDENTITY)

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return self._cred if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None


class Validator(RequestValidator):  # type: ignore[misc]
    """The smallest RequestValidator a SignatureOnlyEndpoint needs; replay-checked too."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str, str]] = set()

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return ("HMAC-SHA1", "HMAC-SHA256")

    @property
    def dummy_client(self) -> str:
        return "dummyclientkey0000000000"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key == KEY

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return SECRET if client_key == KEY else "dummy-secret"

    def validate_timestamp_and_nonce(
        self, client_key: str, timestamp: str, nonce: str, request: Any, **_: Any
    ) -> bool:
        entry = (client_key, timestamp, nonce)
        if entry in self.seen:
            return False
        self.seen.add(entry)
        return True


def sign_requests(n: int) -> list[requests.PreparedRequest]:
    """``n`` requests signed by requests-oauthlib, each with its own nonce."""
    out = []
    for _ in range(n):
        auth = OAuth1(KEY, client_secret=SECRET, signature_method="HMAC-SHA1")
        out.append(requests.Request("GET", URL, auth=auth).prepare())
    return out


def to_view(prepared: requests.PreparedRequest) -> RequestView:
    assert prepared.url is not None and prepared.method is not None
    url = urlsplit(prepared.url)
    headers = [
        (k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    ]
    return RequestView(
        method=prepared.method,
        scheme=url.scheme,
        authority=url.netloc,
        path=url.path,
        query=url.query,
        headers=Headers(headers),
    )


def as_str_headers(prepared: requests.PreparedRequest) -> dict[str, str]:
    return {
        k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in prepared.headers.items()
    }


def time_authgate(views: list[RequestView]) -> float:
    """Seconds for verifying every view once, with a fresh replay cache."""
    auth = OAuth1Authenticator(Resolver(), None, MemoryReplayCache(), methods=("HMAC-SHA1",))

    async def loop() -> float:
        start = time.perf_counter()
        for view in views:
            await auth.authenticate(view)
        return time.perf_counter() - start

    return asyncio.run(loop())


def time_oauthlib(requests_: list[tuple[str, str, dict[str, str]]]) -> float:
    endpoint = SignatureOnlyEndpoint(Validator())
    start = time.perf_counter()
    for uri, method, headers in requests_:
        valid, _ = endpoint.validate_request(uri, method, None, headers)
        if not valid:
            raise AssertionError("oauthlib refused a valid request")
    return time.perf_counter() - start


def time_raw(base_strings: list[bytes], key: bytes) -> float:
    start = time.perf_counter()
    for base in base_strings:
        hmac.new(key, base, hashlib.sha1).digest()
    return time.perf_counter() - start


def best_us(fn: Callable[[], float], n: int, rounds: int) -> tuple[float, float]:
    """(best, median) microseconds per request over ``rounds`` rounds of ``n`` requests."""
    runs = [fn() / n * 1e6 for _ in range(rounds)]
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best one counts")
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds
    deadline = time.monotonic() + 25  # keep the whole run bounded

    prepared = sign_requests(n)
    views = [to_view(p) for p in prepared]
    peer_inputs = [(p.url or "", p.method or "GET", as_str_headers(p)) for p in prepared]
    base_strings = [parse_request(v).base_string.encode() for v in views]
    signing_key = (SECRET + "&").encode()  # §3.4.2: escape(secret) & escape("")

    # Sanity: both verifiers accept the requests, and the bench measures the same work.
    asyncio.run(OAuth1Authenticator(Resolver(), None, MemoryReplayCache()).authenticate(views[0]))
    if not SignatureOnlyEndpoint(Validator()).validate_request(
        *peer_inputs[0][:2], None, peer_inputs[0][2]
    )[0]:
        raise SystemExit("oauthlib refused the benchmark request")

    results: dict[str, tuple[float, float]] = {}
    for name, fn in (
        ("authgate", lambda: time_authgate(views)),
        ("oauthlib SignatureOnlyEndpoint", lambda: time_oauthlib(peer_inputs)),
        ("raw HMAC-SHA1", lambda: time_raw(base_strings, signing_key)),
    ):
        if time.monotonic() > deadline:
            raise SystemExit("benchmark exceeded its time budget")
        results[name] = best_us(fn, n, rounds)

    ours = results["authgate"][0]
    peer = results["oauthlib SignatureOnlyEndpoint"][0]
    raw = results["raw HMAC-SHA1"][0]
    print(f"OAuth 1.0a HMAC-SHA1 verification, {n} requests x {rounds} rounds (best / median)")
    for name, (best, median) in results.items():
        print(f"  {name:32s} {best:8.2f} µs  {median:8.2f} µs")
    print(f"  ratio authgate / oauthlib        {ours / peer:8.2f}   (target < 1.0)")
    print(f"  ratio authgate / raw HMAC        {ours / raw:8.2f}")


if __name__ == "__main__":
    main()
