"""Every server follows the revocation log (``changes``, :mod:`authgate.tokens.changes`).

:meth:`ChangeFeed.load` rebuilds the deny-lists at start-up; :meth:`ChangeFeed.run`
then reads ``SELECT ... WHERE id > last`` every ``interval`` seconds and hands each new
change to the handler (drop cached credentials, deny the holder or the ``jti``). A
change made by another process (the CLI, another server) is so enforced within about
``interval`` seconds, with or without Redis; :meth:`ChangeFeed.wake` (called when a
Redis invalidation arrives) reads at once.

Row ids come from a sequence, and on PostgreSQL a transaction that took a smaller id may
commit after one with a larger id. So the feed reads from a *floor* below which every
id has been seen, skips the ids above it already applied, and moves the floor over a gap
only once the gap has stayed open for :data:`GAP_TIMEOUT` seconds (a rolled-back
transaction leaves a permanent gap). Applying a change twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from authgate.store.db import Database
from authgate.tokens.changes import Change, changes_since, load_state

__all__ = ["GAP_TIMEOUT", "PAGE", "ChangeFeed"]

#: Rows read per query.
PAGE = 1000

#: Seconds a gap in the ids is waited for before it is taken for a rolled-back write.
GAP_TIMEOUT = 30.0
log = logging.getLogger("authgate.cache")


class ChangeFeed:
    """Polls the ``changes`` table and applies new rows.

    Args:
        db: the database.
        handler: applies one change to this process.
        interval: seconds between reads.
        clock: monotonic seconds (gap bookkeeping).
        wall_clock: seconds since the epoch (what to load at start-up).
    """

    def __init__(
        self,
        db: Database,
        handler: Callable[[Change], None],
        *,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._handler = handler
        self.interval = interval
        self._clock = clock
        self._wall = wall_clock
        self.floor = 0  # every id up to here has been applied (or given up on)
        self._seen: dict[int, float] = {}  # applied ids above the floor → when first seen
        self._wake = asyncio.Event()

    async def load(self) -> int:
        """Apply everything still in force (start-up); returns how many changes."""
        state = await load_state(self._db, now=self._wall())
        for change in state.changes:
            self._apply(change)
        self.floor = max(self.floor, state.last_id)
        return len(state.changes)

    async def poll(self) -> int:
        """Read and apply the changes not seen yet; returns how many were new."""
        new, after = 0, self.floor
        while True:  # page by the last id read, not the floor: a gap held open below
            # a full page must not hide the rows after it
            batch = await changes_since(self._db, after, limit=PAGE)
            fresh = [c for c in batch if c.id not in self._seen]
            now = self._clock()
            for change in fresh:
                self._apply(change)
                self._seen[change.id] = now
            new += len(fresh)
            if len(batch) < PAGE:
                break
            after = batch[-1].id
        self._advance(self._clock())
        return new

    def _advance(self, now: float) -> None:
        seen = self._seen
        while seen:
            lowest = min(seen)
            if lowest != self.floor + 1 and now - seen[lowest] < GAP_TIMEOUT:
                return  # an earlier id may still commit
            if lowest != self.floor + 1:
                log.debug("change feed: ids %d..%d never appeared", self.floor + 1, lowest - 1)
            self.floor = lowest
            del seen[lowest]

    def _apply(self, change: Change) -> None:
        try:
            self._handler(change)
        except Exception:  # one bad change must not stop the feed
            log.exception("applying change %d failed", change.id)

    def wake(self) -> None:
        """Read now (another process announced a change)."""
        self._wake.set()

    async def run(self) -> None:
        """Poll forever (cancel the task to stop); failures are logged and retried."""
        while True:
            try:
                await self.poll()
            except Exception:  # the database is back next round; nothing is lost
                log.warning("reading the change feed failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
