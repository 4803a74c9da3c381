"""The usual hand-written FastAPI API-key check: an async dependency, hashlib, a dict.

This is what authgate's whoami is compared against in bench/bench_whoami.py.
The key comes from BENCH_API_KEY so both servers check the same key.
"""

import hashlib
import os

from fastapi import Depends, FastAPI, Header, HTTPException

app = FastAPI()

KEY = os.environ["BENCH_API_KEY"]
KEYS = {
    hashlib.sha256(KEY.encode()).hexdigest(): {
        "subject": "bench",
        "principal_id": "u1",
        "scheme": "apikey",
        "credential_id": "k1",
        "scopes": ["read"],
        "roles": ["member"],
    }
}


async def require_api_key(x_api_key: str | None = Header(default=None)) -> dict[str, object]:
    if x_api_key is None:
        raise HTTPException(status_code=401, detail="missing api key")
    identity = KEYS.get(hashlib.sha256(x_api_key.encode()).hexdigest())
    if identity is None:
        raise HTTPException(status_code=401, detail="invalid api key")
    return identity


@app.get("/v1/whoami")
async def whoami(identity: dict[str, object] = Depends(require_api_key)) -> dict[str, object]:  # noqa: B008 - the usual FastAPI idiom, on purpose
    return identity
