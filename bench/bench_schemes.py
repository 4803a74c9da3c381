"""Per-scheme verification cost, all schemes in one run: ``python bench/bench_schemes.py``.

Runs each scheme's benchmark (ours next to the raw primitive and the nearest peer
library) one after the other on this machine and prints their tables, then the API-key
and Basic hot paths in-process next to a bare HMAC-SHA256.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMES = [
    ("Bearer JWT vs PyJWT decode", "bench_jwt.py"),
    ("AWS SigV4 vs botocore", "bench_sigv4.py"),
    ("RFC 9421 / HMAC-SHA256 vs http-message-signatures", "bench_hmac.py"),
    ("OAuth 1.0a vs oauthlib", "bench_oauth1.py"),
]


async def credential_paths() -> None:
    from authgate.config import Settings
    from authgate.runtime import LOCAL_ADMIN, Runtime
    from authgate.schemes.base import Headers, RequestView

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="authgate-bench-")))
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "b", password="bench password 1", scopes=["r"])
        key = (await rt.keys.create(LOCAL_ADMIN, user="b")).key
        basic = "Basic " + base64.b64encode(b"b:bench password 1").decode()
        views = {
            "API key (X-API-Key), warm": RequestView(
                "GET", "http", "h", "/", "", Headers([("x-api-key", key)])
            ),
            "Basic user:password, warm": RequestView(
                "GET", "http", "h", "/", "", Headers([("authorization", basic)])
            ),
        }
        n = 20_000
        print("\n== API key and Basic (chain, in-process, cache warm) ==")
        raw_key = b"k" * 32
        raw = min(
            timeit.repeat(
                lambda: hmac.new(raw_key, key.encode(), hashlib.sha256).digest(),
                number=n,
                repeat=5,
            )
        )
        print(f"  {'raw HMAC-SHA256 of the key':<32} {raw / n * 1e6:7.2f} us")
        for name, view in views.items():
            await rt.chain.authenticate(view)
            best = float("inf")
            for _ in range(5):
                start = asyncio.get_running_loop().time()
                for _ in range(n):
                    await rt.chain.authenticate(view)
                best = min(best, asyncio.get_running_loop().time() - start)
            print(f"  {name:<32} {best / n * 1e6:7.2f} us   ({best / raw:4.1f}x the raw HMAC)")
    finally:
        await rt.close()


def main() -> None:
    for title, script in SCHEMES:
        print(f"\n== {title} ({script}) ==", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
    asyncio.run(credential_paths())


if __name__ == "__main__":
    main()
