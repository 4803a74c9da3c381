"""Shared fixtures: settings on a temp home, a runtime on SQLite and on PostgreSQL,
the server and an ``httpx2.AsyncClient`` over ``ASGITransport``."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from authgate.config import Settings
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

PG_ADMIN_DSN = os.environ.get("AUTHGATE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AUTHGATE_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_unavailable(what: str, exc: BaseException) -> None:
    """Skip with a reason locally; under CI an unreachable service is a failure."""
    message = f"{what} unreachable ({exc!r})"
    if IN_CI:
        pytest.fail(message + " — required under CI=true")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("AUTHGATE_") and not key.startswith("AUTHGATE_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AUTHGATE_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; dropped at the end."""
    import asyncpg

    name = f"authgate_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        service_unavailable("PostgreSQL", exc)
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.getfixturevalue("pg_database")
    return str(request.param)


def make_settings(tmp_path: Path, database_url: str | None = None, **extra: Any) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, **extra)


async def _truncate(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = (
                await conn.scalars(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            ).all()
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    extra: dict[str, Any] = getattr(request, "param", {}) or {}
    if backend == "postgres":
        url = request.getfixturevalue("pg_database")
        await _truncate(url)
        return make_settings(tmp_path, url, **extra)
    return make_settings(tmp_path, **extra)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[Runtime]:
    """A second runtime on the same database (what the CLI or another instance opens):
    its changes reach ``runtime`` only through the database."""
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def server(settings: Settings, runtime: Runtime) -> AuthgateServer:
    return AuthgateServer(settings, runtime)


@pytest.fixture
async def client(server: AuthgateServer) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=server, client=("203.0.113.7", 50000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class Accounts:
    """Users and keys made through the real services, for tests."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def user(
        self, name: str, *, role: str = "member", password: str | None = None, scopes: Any = ()
    ) -> Any:
        return await self.rt.users.create(
            LOCAL_ADMIN, name, role=role, password=password, scopes=list(scopes)
        )

    async def key(self, user: str, **kwargs: Any) -> dict[str, Any]:
        issued = await self.rt.keys.create(LOCAL_ADMIN, user=user, **kwargs)
        return issued.as_json()


@pytest.fixture
def accounts(runtime: Runtime) -> Accounts:
    return Accounts(runtime)
