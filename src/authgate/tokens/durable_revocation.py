"""The ``jti`` deny-list kept in the database and in memory (see :mod:`.revocation`).

A revocation is written to ``revoked_tokens`` and ``changes`` in one transaction, then
added to this process's memory; other servers add it when their change feed reads the
row, and every server rebuilds the list from ``revoked_tokens`` at start-up, so a
revocation survives restarts. Checking is the memory lookup only: no I/O on the hot
path, nothing to be unavailable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.store.db import Database
from authgate.tokens.changes import Change, ChangeLog
from authgate.tokens.revocation import MemoryRevocationList

__all__ = ["DurableRevocationList"]


class DurableRevocationList:
    """Durable deny-list: writes go to the database, reads to memory.

    Args:
        db: the database.
        changes: stages the ``token`` change and applies it once committed.
        memory: the in-memory list this process checks (fed by the change feed too).
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        changes: ChangeLog,
        *,
        memory: MemoryRevocationList | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.changes = changes
        self.memory = memory if memory is not None else MemoryRevocationList(clock=clock)
        self._clock = clock

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Deny ``jti`` until ``expires_at``, durably; an expired token needs no entry."""
        if expires_at <= self._clock():
            return
        try:
            async with self._db.session() as s, s.begin():
                change = await self.changes.stage_token(s, jti, expires_at)
        except IntegrityError:
            # another process revoked the same token between our read and our insert:
            # it is denied durably already (and its change row tells the other servers)
            await self.memory.revoke(jti, expires_at)
            return
        await self.memory.revoke(jti, expires_at)
        self.changes.committed(change)

    async def stage(self, session: AsyncSession, jti: str, expires_at: float) -> Change | None:
        """Stage the revocation in ``session``; call :meth:`applied` after the commit."""
        if expires_at <= self._clock():
            return None
        return await self.changes.stage_token(session, jti, expires_at)

    async def applied(self, *changes: Change) -> None:
        """Apply staged changes once their transaction committed."""
        for change in changes:
            if change.expires_at is not None:
                await self.memory.revoke(change.subject, change.expires_at)
        self.changes.committed(*changes)

    async def is_revoked(self, jti: str) -> bool:
        """True when ``jti`` is denied now (memory only)."""
        return self.memory.denies(jti)
