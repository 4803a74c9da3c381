"""``/readyz`` reflects every configured dependency; ``/healthz`` is liveness only."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from tests._redis_support import test_redis
from tests.conftest import REDIS_URL, make_settings

from authgate.runtime import Runtime
from authgate.server import AuthgateServer


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def _client(rt: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    server = AuthgateServer(rt.settings, rt)
    transport = httpx2.ASGITransport(app=server, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def down_redis_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{_closed_port()}/15")
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        yield rt
    finally:
        await rt.close()


async def test_readyz_is_503_naming_redis_when_configured_redis_is_down(
    down_redis_runtime: Runtime,
) -> None:
    async for client in _client(down_redis_runtime):
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "unavailable": ["redis"]}
        # liveness is not readiness: the process itself is fine
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}


async def test_readyz_is_200_with_the_real_redis(tmp_path: Path) -> None:
    await (await test_redis()).aclose()  # skip (or fail under CI) when Redis is not running
    rt = await Runtime.open(make_settings(tmp_path, redis_url=REDIS_URL), batched_audit=False)
    try:
        async for client in _client(rt):
            r = await client.get("/readyz")
            assert r.status_code == 200
            assert r.json() == {"status": "ready"}
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await rt.close()


async def test_readyz_is_503_naming_the_database_when_it_is_down(tmp_path: Path) -> None:
    rt = await Runtime.open(make_settings(tmp_path), batched_audit=False)
    try:
        await rt.db.engine.dispose()
        db_file = rt.settings.home / "authgate.db"
        # a directory where the database file was: SQLite can no longer open it
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        db_file.mkdir()
        async for client in _client(rt):
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json() == {"status": "unavailable", "unavailable": ["database"]}
    finally:
        await rt.close()
