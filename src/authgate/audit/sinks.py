"""Where audit records go.

:class:`DatabaseAuditWriter` inserts a batch in one statement. :class:`BatchedAuditSink`
puts records on a bounded queue that a background task drains in batches: producers
wait when the queue is full (back-pressure, nothing dropped) and :meth:`close` flushes
everything before shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import insert

from authgate.audit.events import AuditRecord
from authgate.store.db import Database
from authgate.store.models import AuditEvent

__all__ = ["AuditSink", "BatchedAuditSink", "DatabaseAuditWriter"]

log = logging.getLogger("authgate.audit")


class AuditSink(Protocol):
    async def emit(self, record: AuditRecord) -> None: ...


class DatabaseAuditWriter:
    """Writes records straight to the audit table (the CLI's sink, and the batch writer)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write_many(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        async with self._db.session() as s, s.begin():
            await s.execute(insert(AuditEvent), [r.cleaned() for r in records])

    async def emit(self, record: AuditRecord) -> None:
        await self.write_many([record])


class BatchedAuditSink:
    """Bounded queue + background writer; ``close()`` drains it."""

    def __init__(
        self, writer: DatabaseAuditWriter, *, max_queue: int = 10_000, interval: float = 1.0
    ) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[AuditRecord] = asyncio.Queue(max_queue)
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._batch_size = 500
        self._inflight: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="authgate-audit-writer")

    @property
    def depth(self) -> int:
        """Events queued and not yet written (the ``authgate_audit_queue_depth`` gauge)."""
        return self._queue.qsize()

    async def emit(self, record: AuditRecord) -> None:
        # Waits when the queue is full: slows producers down rather than losing events.
        await self._queue.put(record)

    async def flush(self) -> None:
        """Write everything queued now."""
        while not self._queue.empty():
            n = min(self._batch_size, self._queue.qsize())
            await self._write([self._queue.get_nowait() for _ in range(n)])

    async def close(self) -> None:
        """Stop the background writer and write every queued event."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight is not None:
            await self._inflight  # a batch taken off the queue is written, not lost
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._inflight = asyncio.ensure_future(self.flush())
            # shielded: cancelling the loop at shutdown never cancels a write in progress
            await asyncio.shield(self._inflight)
            self._inflight = None

    async def _write(self, batch: list[AuditRecord]) -> None:
        for attempt in range(5):
            try:
                await self._writer.write_many(batch)
                return
            except Exception:  # a database hiccup must not kill the writer or lose events
                log.exception("audit write failed (attempt %d), retrying", attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        log.error("audit write failed; %d events kept in the log only", len(batch))
        for r in batch:
            log.error("audit event %s", r.cleaned())
