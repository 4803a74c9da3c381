"""Two instances sharing the database and Redis: revocations and nonces cross between them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from tests.conftest import REDIS_URL, service_unavailable

from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer


@pytest.fixture
async def pair_of_instances(settings: Settings) -> AsyncIterator[tuple[Any, Any, Runtime]]:
    import redis.asyncio as aioredis

    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        service_unavailable("Redis", exc)
    finally:
        await probe.aclose()
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    a = await Runtime.open(shared, batched_audit=False)
    b = await Runtime.open(shared, batched_audit=False)
    a.start_background()
    b.start_background()
    assert a.bus is not None and b.bus is not None
    clients = []
    for rt in (a, b):
        transport = httpx2.ASGITransport(app=AuthgateServer(shared, rt))
        clients.append(httpx2.AsyncClient(transport=transport, base_url="http://api.test"))
    await asyncio.sleep(0.3)  # both subscribed
    try:
        yield clients[0], clients[1], a
    finally:
        for c in clients:
            await c.aclose()
        await a.close()
        await b.close()


async def _eventually(check: Any, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_revocation_on_one_instance_reaches_the_other_at_once(
    pair_of_instances: tuple[Any, Any, Runtime],
) -> None:
    _ca, cb, a = pair_of_instances
    await a.users.create(LOCAL_ADMIN, "x")
    issued = await a.keys.create(LOCAL_ADMIN, user="x")
    h = {"X-API-Key": issued.key}
    assert (await cb.get("/v1/whoami", headers=h)).status_code == 200  # cached on B
    assert (await cb.get("/v1/whoami", headers=h)).status_code == 200
    await a.keys.revoke(LOCAL_ADMIN, issued.view.id)

    async def refused_on_b() -> bool:
        return (await cb.get("/v1/whoami", headers=h)).status_code == 401

    # well inside the 10 s cache TTL: only the bus can explain it
    assert await _eventually(refused_on_b, timeout=3.0)


async def test_nonce_used_on_one_instance_is_refused_on_the_other(
    pair_of_instances: tuple[Any, Any, Runtime],
) -> None:
    ca, cb, a = pair_of_instances
    await a.users.create(LOCAL_ADMIN, "y")
    pair = (await a.keys.create(LOCAL_ADMIN, user="y", type="key-pair")).as_json()
    date, nonce = str(int(time.time())), secrets.token_hex(16)
    lines = [
        "GET",
        "/v1/whoami",
        "",
        "host:api.test",
        f"x-authgate-date:{date}",
        f"x-authgate-nonce:{nonce}",
        hashlib.sha256(b"").hexdigest(),
    ]
    sig = hmac.new(pair["secret"].encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()
    headers = {
        "Authorization": f"HMAC-SHA256 Credential={pair['key']}, "
        f"SignedHeaders=host;x-authgate-date;x-authgate-nonce, Signature={sig}",
        "X-Authgate-Date": date,
        "X-Authgate-Nonce": nonce,
    }
    assert (await ca.get("/v1/whoami", headers=headers)).status_code == 200
    assert (await cb.get("/v1/whoami", headers=headers)).status_code == 401
