"""Audit records: sanitized, batched, back-pressured, flushed at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from authgate.audit import AuditRecord, BatchedAuditSink, DatabaseAuditWriter, sanitize
from authgate.store.db import Database
from authgate.store.migrate import upgrade
from authgate.store.models import AuditEvent


def test_control_characters_escaped() -> None:
    assert sanitize("a\nb\rc\x1b[31md\x7f\x85") == "a\\x0ab\\x0dc\\x1b[31md\\x7f\\x85"
    assert sanitize("back\\slash") == "back\\\\slash"
    assert len(sanitize("x" * 10_000)) <= 513


def test_record_values_cleaned_recursively() -> None:
    rec = AuditRecord("auth.failure", detail={"path": "/x\n[fake] admin login ok", "l": ["\x00"]})
    cleaned = rec.cleaned()
    assert "\n" not in cleaned["detail"]["path"] and cleaned["detail"]["l"] == ["\\x00"]
    assert cleaned["at"].tzinfo is not None


async def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    await upgrade(db)
    return db


async def _count(db: Database) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_batched_sink_writes_everything_on_close(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    sink = BatchedAuditSink(DatabaseAuditWriter(db), max_queue=100, interval=60)
    sink.start()
    for i in range(100):
        await asyncio.wait_for(sink.emit(AuditRecord("test", detail={"i": i})), timeout=5)
    await sink.close()
    assert await _count(db) == 100
    await db.dispose()


async def test_back_pressure_then_background_drain(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    sink = BatchedAuditSink(DatabaseAuditWriter(db), max_queue=100, interval=0.01)
    sink.start()
    await asyncio.wait_for(
        asyncio.gather(*(sink.emit(AuditRecord("load", detail={"i": i})) for i in range(1000))),
        timeout=20,
    )
    await sink.close()
    assert await _count(db) == 1000
    await db.dispose()


async def test_full_queue_blocks_producer_instead_of_dropping(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    sink = BatchedAuditSink(DatabaseAuditWriter(db), max_queue=100, interval=60)
    for i in range(100):
        await sink.emit(AuditRecord("fill", detail={"i": i}))
    blocked = asyncio.ensure_future(sink.emit(AuditRecord("one-more")))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # waiting, not dropped
    await sink.flush()
    await asyncio.wait_for(blocked, timeout=5)
    await sink.close()
    assert await _count(db) == 101
    await db.dispose()
