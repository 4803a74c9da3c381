"""Per-token JWT verification cost: PyJWT ``decode`` vs authgate (cold, warm) vs the primitive.

Run: ``python bench/bench_jwt.py``. Prints microseconds per token and ratios to PyJWT.
Targets (DESIGN.md "Performance", issue target): cold < 1.0x PyJWT, warm <= 0.2x PyJWT.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import timeit
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import get_default_algorithms

from authgate.tokens import IssuerConfig, KeyRing, TokenVerifier, VerifiedTokenCache

ISS = "https://idp.example.com"
BUDGET_S = 1.0  # per measurement; the whole run stays well under 30 s


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def per_call_us(fn: Callable[[], Any]) -> float:
    fn()
    n, elapsed = 1, 0.0
    while elapsed < 0.05:
        n *= 2
        elapsed = timeit.timeit(fn, number=n)
    reps = max(1, int(n * BUDGET_S / 3 / max(elapsed, 1e-9)))
    best = min(timeit.repeat(fn, number=reps, repeat=3))
    return best / reps * 1e6


def claims(now: int) -> dict[str, Any]:
    return {
        "iss": ISS,
        "sub": "user-42",
        "aud": "api",
        "exp": now + 3600,
        "iat": now,
        "jti": "jti-0001",
        "scope": "read write",
    }


def case(alg: str) -> dict[str, Any]:
    now = int(time.time())
    algs = get_default_algorithms()
    header = {"kid": "k1", "typ": "at+jwt"}
    if alg == "HS256":
        secret = os.urandom(32)
        jwk = {"kty": "oct", "kid": "k1", "k": b64(secret)}
        sign_key: Any = secret
        verify_key: Any = secret
    elif alg == "ES256":
        priv = ec.generate_private_key(ec.SECP256R1())
        sign_key, verify_key = priv, priv.public_key()
        jwk = json.loads(algs["ES256"].to_jwk(verify_key)) | {"kid": "k1"}
    else:
        priv2 = ed25519.Ed25519PrivateKey.generate()
        sign_key, verify_key = priv2, priv2.public_key()
        jwk = json.loads(algs["EdDSA"].to_jwk(verify_key)) | {"kid": "k1"}
    token = jwt.encode(claims(now), sign_key, algorithm=alg, headers=header)
    cfg = IssuerConfig(issuer=ISS, audiences=["api"], jwks={"keys": [jwk]}, algorithms=[alg])
    ring = KeyRing.from_config(cfg)
    h, p, s = token.split(".")
    signing_input, sig = f"{h}.{p}".encode(), unb64(s)

    if alg == "HS256":

        def primitive() -> None:
            digest = hmac.new(verify_key, signing_input, hashlib.sha256).digest()
            assert hmac.compare_digest(digest, sig)

    elif alg == "ES256":
        der = encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:]))

        def primitive() -> None:
            verify_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))

    else:

        def primitive() -> None:
            verify_key.verify(sig, signing_input)

    return {
        "token": token,
        "verify_key": verify_key,
        "cfg": cfg,
        "ring": ring,
        "primitive": primitive,
    }


def main() -> None:
    started = time.perf_counter()
    rows = []
    for alg in ("HS256", "ES256", "EdDSA"):
        c = case(alg)
        token, ring = c["token"], c["ring"]
        cold = TokenVerifier([c["cfg"]], cache=None)
        warm = TokenVerifier([c["cfg"]], cache=VerifiedTokenCache())
        assert cold.verify_with(token, ring).subject == "user-42"
        assert warm.verify_with(token, ring).subject == "user-42"

        def pyjwt_decode(c: dict[str, Any] = c, alg: str = alg) -> None:
            jwt.decode(c["token"], c["verify_key"], algorithms=[alg], audience="api", issuer=ISS)

        pyjwt_us = per_call_us(pyjwt_decode)
        cold_us = per_call_us(
            lambda cold=cold, token=token, ring=ring: cold.verify_with(token, ring)
        )
        warm_us = per_call_us(
            lambda warm=warm, token=token, ring=ring: warm.verify_with(token, ring)
        )
        prim_us = per_call_us(c["primitive"])
        rows.append((alg, pyjwt_us, cold_us, warm_us, prim_us))

    print(
        f"{'alg':<7}{'PyJWT':>10}{'cold':>10}{'warm':>10}{'primitive':>11}"
        f"{'cold/PyJWT':>12}{'warm/PyJWT':>12}{'cold/prim':>11}"
    )
    ok = True
    for alg, py, cold_us, warm_us, prim in rows:
        print(
            f"{alg:<7}{py:>9.1f}µ{cold_us:>9.1f}µ{warm_us:>9.2f}µ{prim:>10.1f}µ"
            f"{cold_us / py:>11.2f}x{warm_us / py:>11.3f}x{cold_us / prim:>10.2f}x"
        )
        ok &= cold_us < py and warm_us <= 0.2 * py
    print(f"targets (cold < 1.0x, warm <= 0.2x PyJWT): {'met' if ok else 'NOT met'}")
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
