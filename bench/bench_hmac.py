"""Per-request verification cost of authgate's RFC 9421 and HMAC-SHA256 verifiers.

Compares, on the same signed request:
  * authgate ``HttpSigAuthenticator.authenticate`` (parse, policy, base, digest, verify)
  * ``http_message_signatures.HTTPMessageVerifier.verify`` (the peer; same checks)
  * the raw primitive: one ``hmac.new(...).digest()`` / one Ed25519 verify over the base
and the simple scheme's ``HmacSimpleAuthenticator.authenticate``.

Run: ``python bench/bench_hmac.py``. Ratios matter, not absolute times. Replay storage
is replaced by an always-new cache so the figures are verification cost only.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from authgate.crypto.secret import Secret
from authgate.identity import Identity
from authgate.schemes.base import Headers, KeyPairCredential, PublicKeyCredential, RequestView
from authgate.schemes.hmac_simple import HmacSimpleAuthenticator
from authgate.schemes.httpsig import HttpSigAuthenticator, select_signature, signature_base

KEY, SECRET = "ag_kp_bench", secrets.token_urlsafe(32)
ED = ed25519.Ed25519PrivateKey.generate()
ED_PEM = ED.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
WHO = Identity(subject="bench", principal_id="u-b", scheme="?")
COVERED = ("@method", "@authority", "@target-uri", "content-digest", "content-type")
BODY = b'{"item": "widget", "qty": 3, "note": "' + b"x" * 200 + b'"}'
URL = "https://api.example.com/v1/orders?limit=10&sort=desc"
REPEATS, BUDGET_S = 5, 0.4


class Store:
    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return KeyPairCredential(KEY, Secret(SECRET), WHO) if key == KEY else None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None

    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        return PublicKeyCredential("ed-1", ED_PEM, "ed25519", WHO) if key_id == "ed-1" else None


class AlwaysNew:
    async def check_and_store(self, nonce: str, ttl: float) -> bool:
        return True


class PeerKeys(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id: str) -> object:
        return SECRET.encode() if key_id == KEY else ED

    def resolve_public_key(self, key_id: str) -> object:
        return SECRET.encode() if key_id == KEY else ED.public_key()


def signed(algorithm: type[algorithms.HTTPSignatureAlgorithm], key_id: str):  # type: ignore[no-untyped-def]
    prepared = requests.Request(
        "POST", URL, data=BODY, headers={"Content-Type": "application/json"}
    ).prepare()
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=PeerKeys()).sign(
        prepared,
        key_id=key_id,
        nonce=secrets.token_hex(16),
        covered_component_ids=COVERED,
        body=BODY,
    )
    parts = urlsplit(prepared.url)
    view = RequestView(
        method="POST",
        scheme=parts.scheme,
        authority=parts.netloc,
        path=parts.path,
        query=parts.query,
        headers=Headers(prepared.headers.items()),
        body=BODY,
    )
    return prepared, view


def per_call_us(fn: Callable[[], object]) -> float:
    n = 1
    while True:  # calibrate the loop to ~BUDGET_S / REPEATS
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if (elapsed := time.perf_counter() - t) > BUDGET_S / REPEATS / 4:
            break
        n *= 2
    n = max(1, int(n * (BUDGET_S / REPEATS) / elapsed))
    best = float("inf")
    for _ in range(REPEATS):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def per_call_async_us(make: Callable[[], Awaitable[object]]) -> float:
    async def batch(n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            await make()
        return time.perf_counter() - t

    async def main() -> float:
        n = 1
        while (elapsed := await batch(n)) < BUDGET_S / REPEATS / 4:
            n *= 2
        n = max(1, int(n * (BUDGET_S / REPEATS) / elapsed))
        return min([await batch(n) for _ in range(REPEATS)]) / n * 1e6

    return asyncio.run(main())


def row(name: str, ours: float, peer: float | None, raw: float) -> None:
    peer_s = f"{peer:9.1f}" if peer is not None else "        -"
    ratio = f"{ours / peer:11.2f}" if peer is not None else f"{'-':>11}"
    print(f"{name:<28}{ours:9.1f}{peer_s}{raw:9.2f}{ratio}{ours / raw:9.1f}")


def main() -> None:
    store = Store()
    ours = HttpSigAuthenticator(store, store, AlwaysNew())
    print(
        f"{'per request (µs)':<28}{'authgate':>9}{'peer':>9}{'raw':>9}"
        f"{'ours/peer':>11}{'ours/raw':>9}"
    )
    for label, alg, key_id in (
        ("RFC 9421 hmac-sha256", algorithms.HMAC_SHA256, KEY),
        ("RFC 9421 ed25519", algorithms.ED25519, "ed-1"),
    ):
        prepared, view = signed(alg, key_id)
        peer = HTTPMessageVerifier(signature_algorithm=alg, key_resolver=PeerKeys())
        peer.max_clock_skew = datetime.timedelta(seconds=300)
        peer.verify(prepared, body=BODY, require_components=COVERED[:3])  # sanity: it verifies
        asyncio.run(ours.authenticate(view))
        _, covered, sig = select_signature(view.headers)
        base = signature_base(view, covered)
        if key_id == KEY:
            key = SECRET.encode()

            def raw(key: bytes = key, base: bytes = base) -> object:
                return hmac.new(key, base, hashlib.sha256).digest()
        else:
            pub = ED.public_key()

            def raw(
                pub: ed25519.Ed25519PublicKey = pub, sig: bytes = sig, base: bytes = base
            ) -> object:
                pub.verify(sig, base)
                return None

        row(
            label,
            per_call_async_us(lambda view=view: ours.authenticate(view)),
            per_call_us(
                lambda p=prepared, v=peer: v.verify(p, body=BODY, require_components=COVERED[:3])
            ),
            per_call_us(raw),
        )

    # The simple scheme, signed by hand as docs/schemes/hmac-simple.md describes.
    date, nonce = str(int(time.time())), secrets.token_hex(16)
    canonical = "\n".join(
        [
            "POST",
            "/v1/orders",
            "limit=10&sort=desc",
            "host:api.example.com",
            f"x-authgate-date:{date}",
            f"x-authgate-nonce:{nonce}",
            hashlib.sha256(BODY).hexdigest(),
        ]
    ).encode()
    sig_hex = hmac.new(SECRET.encode(), canonical, hashlib.sha256).hexdigest()
    simple_view = RequestView(
        method="POST",
        scheme="https",
        authority="api.example.com",
        path="/v1/orders",
        query="sort=desc&limit=10",
        headers=Headers(
            [
                ("host", "api.example.com"),
                (
                    "authorization",
                    f"HMAC-SHA256 Credential={KEY}, "
                    f"SignedHeaders=host;x-authgate-date;x-authgate-nonce, Signature={sig_hex}",
                ),
                ("x-authgate-date", date),
                ("x-authgate-nonce", nonce),
            ]
        ),
        body=BODY,
    )
    simple = HmacSimpleAuthenticator(store, AlwaysNew())
    asyncio.run(simple.authenticate(simple_view))
    key = SECRET.encode()
    row(
        "HMAC-SHA256 simple scheme",
        per_call_async_us(lambda: simple.authenticate(simple_view)),
        None,
        per_call_us(lambda: hmac.new(key, canonical, hashlib.sha256).digest()),
    )
    print(f"(body {len(BODY)} bytes; raw = one HMAC / Ed25519 verify over the base only)")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
