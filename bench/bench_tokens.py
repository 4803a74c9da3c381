"""authgate's own access tokens: issuance cost per algorithm, verification cold and warm.

Run: ``python bench/bench_tokens.py [--wrk]``. Prints microseconds per token. Issuance
is :meth:`AccessTokenIssuer.issue` (claims + JWS signature with a cached key object);
"raw sign" is the cryptography primitive alone on the same signing input; cold
verification is :meth:`TokenVerifier.verify_with` without a cache, warm with the
verified-token cache. With ``--wrk`` it also serves ``POST /auth`` with uvicorn on SQLite
and measures requests/s with wrk (needs ``wrk`` on PATH).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from authgate.tokens import TokenVerifier, VerifiedTokenCache
from authgate.tokens.access import AccessTokenIssuer
from authgate.tokens.signing import (
    SIGNING_ALGORITHMS,
    SigningKey,
    SigningKeyRing,
    generate_signing_key,
    public_jwk,
)

BUDGET_S = 1.0
ISS = "https://auth.example.com"


def per_call_us(fn: Callable[[], Any]) -> float:
    fn()
    n, elapsed = 1, 0.0
    while elapsed < 0.05:
        n *= 2
        elapsed = timeit.timeit(fn, number=n)
    reps = max(1, int(n * BUDGET_S / 3 / max(elapsed, 1e-9)))
    best = min(timeit.repeat(fn, number=reps, repeat=3))
    return best / reps * 1e6


class _Keys:
    def __init__(self) -> None:
        now = time.time()
        keys = []
        for alg in SIGNING_ALGORITHMS:
            private = generate_signing_key(alg)
            jwk = public_jwk(private, alg)
            keys.append(SigningKey(str(jwk["kid"]), alg, private, jwk, now, now - 1))
        self.ring = SigningKeyRing(keys)


def raw_signer(key: SigningKey) -> Callable[[bytes], bytes]:
    op: Any = key.private.get_op_key("sign")
    if key.algorithm == "RS256":
        return lambda data: bytes(op.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if key.algorithm == "ES256":
        return lambda data: bytes(op.sign(data, ec.ECDSA(hashes.SHA256())))
    return lambda data: bytes(op.sign(data))


def bench_algorithms() -> None:
    keys = _Keys()
    now = time.time()
    print(f"{'alg':7} {'issue':>9} {'raw sign':>9} {'verify cold':>12} {'verify warm':>12}")
    for alg in SIGNING_ALGORITHMS:
        issuer = AccessTokenIssuer(keys, issuer=ISS, audience=ISS, algorithm=alg)
        issued = issuer.issue(subject="u-1", client_id="c-1", scopes=["read", "write"])
        token = issued.token
        signing_input = token.rsplit(".", 1)[0].encode()
        sign = raw_signer(keys.ring.active(alg, now))
        ring = keys.ring.verification_keys(now)
        cold = TokenVerifier([issuer.issuer_config()])
        warm = TokenVerifier([issuer.issuer_config()], cache=VerifiedTokenCache())

        def issue(issuer: AccessTokenIssuer = issuer) -> None:
            issuer.issue(subject="u-1", client_id="c-1", scopes=["read", "write"])

        t_issue = per_call_us(issue)
        t_raw = per_call_us(lambda sign=sign, data=signing_input: sign(data))
        t_cold = per_call_us(lambda v=cold, t=token, r=ring: v.verify_with(t, r))
        t_warm = per_call_us(lambda v=warm, t=token, r=ring: v.verify_with(t, r))
        print(f"{alg:7} {t_issue:8.1f}µ {t_raw:8.1f}µ {t_cold:11.1f}µ {t_warm:11.1f}µ")


def bench_wrk(seconds: int = 5) -> None:
    """``POST /auth`` requests/s against uvicorn on a fresh SQLite home."""
    import uvicorn

    from authgate.config import Settings
    from authgate.home import load_secrets
    from authgate.runtime import LOCAL_ADMIN, Runtime
    from authgate.server import AuthgateServer, routes_auth
    from authgate.tokens.services import TokenConfig, TokenServices

    if shutil.which("wrk") is None:
        print("wrk not found; skipping /auth throughput")
        return
    home = Path(tempfile.mkdtemp(prefix="authgate-bench-"))
    settings = Settings(home=home, port=18931)
    ready = threading.Event()
    pair: dict[str, Any] = {}
    server_box: dict[str, uvicorn.Server] = {}

    async def serve() -> None:
        rt = await Runtime.open(settings)
        await rt.users.create(LOCAL_ADMIN, "bench", scopes=["read"])
        pair.update((await rt.keys.create(LOCAL_ADMIN, user="bench", type="key-pair")).as_json())
        server = AuthgateServer(settings, rt)
        server.api.include_router(routes_auth.router)
        secrets = load_secrets(settings.home)
        services = await TokenServices.open(
            TokenConfig(issuer=f"http://127.0.0.1:{settings.port}"),
            db=rt.db,
            digester=secrets.digester,
            master_keys=secrets.master_keys,
            resolver=rt.resolver,
        )
        server.api.state.tokens = services
        config = uvicorn.Config(
            server, host="127.0.0.1", port=settings.port, log_level="warning", access_log=False
        )
        server_box["s"] = uvicorn.Server(config)
        task = asyncio.create_task(server_box["s"].serve())
        while not server_box["s"].started:
            await asyncio.sleep(0.05)
        ready.set()
        await task
        await rt.close()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    ready.wait(30)
    script = home / "auth.lua"
    body = f'{{"api_key":"{pair["key"]}","api_secret":"{pair["secret"]}"}}'
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{body}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{settings.port}/auth",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    print("POST /auth (SQLite, one uvicorn worker, wrk -t2 -c16):")
    print(
        "\n".join(
            line
            for line in out.splitlines()
            if "Requests/sec" in line or "Non-2xx" in line or "Latency" in line
        )
    )
    server_box["s"].should_exit = True
    thread.join(15)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    bench_algorithms()
    if "--wrk" in sys.argv:
        bench_wrk()
