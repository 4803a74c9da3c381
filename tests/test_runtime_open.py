"""``Runtime.open`` the obvious ways: the audit writer and the last-used flusher run from
the start, starting again is harmless, closing writes what they hold; ``import authgate``
stays light."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

import authgate
from authgate import Runtime, Settings
from authgate.audit import AuditRecord, BatchedAuditSink
from authgate.runtime import LOCAL_ADMIN
from authgate.store.models import AuditEvent, Credential


def _settings(tmp_path: Path) -> Settings:
    # long intervals: only close() may write during these tests
    return Settings(
        home=tmp_path / "home", audit_flush_interval=3600, last_used_flush_interval=3600
    )


def _running(rt: Runtime) -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if not t.done()} & {
        "authgate-audit-writer",
        "authgate-last-used",
        "authgate-bus",
        "authgate-purge",
    }


async def test_await_open_starts_the_writers_idempotently(tmp_path: Path) -> None:
    rt = await Runtime.open(_settings(tmp_path))
    try:
        assert isinstance(rt.audit, BatchedAuditSink)
        assert _running(rt) == {"authgate-audit-writer", "authgate-last-used"}
        rt.start_writers()
        rt.start_background()
        rt.start_background()
        assert _running(rt) == {"authgate-audit-writer", "authgate-last-used", "authgate-purge"}
        names = [t.get_name() for t in rt._tasks]
        assert len(names) == len(set(names))
    finally:
        await rt.close()
    await asyncio.sleep(0)
    assert _running(rt) == set()


async def test_async_with_open_flushes_audit_and_last_used(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with Runtime.open(settings) as rt:
        await rt.users.create(LOCAL_ADMIN, "alice", scopes=["read"])
        key = (await rt.keys.create(LOCAL_ADMIN, user="alice", name="k")).as_json()
    async with Runtime.open(settings) as rt:
        assert await rt.resolver.resolve_api_key(key["key"]) is not None
        await rt.audit.emit(AuditRecord("app.event", detail={"n": 1}))
    async with Runtime.open(settings, batched_audit=False) as rt, rt.db.session() as s:
        events = [e.event for e in (await s.scalars(select(AuditEvent))).all()]
        credential = await s.get(Credential, key["id"])
    assert "app.event" in events
    assert "key.created" in events or any(e.startswith("key.") for e in events)
    assert credential is not None and credential.last_used_at is not None


def test_import_authgate_is_light() -> None:
    code = (
        "import sys, authgate\n"
        "heavy = [m for m in ('redis', 'asyncpg', 'sqlalchemy', 'fastapi', 'authgate.runtime')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from authgate import Runtime, RuntimeMiddleware, AuthMiddleware\n"
        "assert 'redis' not in sys.modules and 'asyncpg' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_exports_resolve() -> None:
    assert authgate.Runtime is Runtime
    assert "Runtime" in dir(authgate)
    try:
        authgate.NoSuchThing  # noqa: B018
    except AttributeError:
        pass
    else:
        raise AssertionError("no AttributeError")


async def test_a_failed_open_leaves_no_database_connection_behind(tmp_path: Path) -> None:
    """A database that cannot be migrated: the error propagates and the engine is disposed."""
    import threading

    import pytest

    settings = _settings(tmp_path)
    await (await Runtime.open(settings)).close()
    db_file = settings.home / "authgate.db"
    for extra in (Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        extra.unlink(missing_ok=True)
    db_file.write_bytes(b"this is not a database" * 100)
    before = set(threading.enumerate())
    with pytest.raises(Exception, match="not a database"):
        await Runtime.open(settings)
    await asyncio.sleep(0.1)  # a closed connection's thread ends
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not left, left
