"""Cache notices: tell every other process to drop what it cached of a credential or user.

A revocation is a row of ``changes`` written with the change itself
(:mod:`authgate.tokens.changes`). Other changes that make a cached verification stale —
a new password, a rotated client secret, an enabled user, a new second factor, a
registered or revoked public key — deny nothing, but a server that cached the old state
would keep answering from it for ``credential_cache_ttl``. For those this process writes
a ``cache`` row once the change committed (in the background; :meth:`CacheNotices.flush`
waits for it, and :meth:`authgate.runtime.Runtime.close` calls it, so a CLI command's
notice is written before it exits); every server's change feed reads it within
``change_poll_interval`` and drops its cached entries. With Redis the invalidation bus
carries the same notice at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from authgate.store.db import Database
from authgate.store.models_changes import ChangeRecord
from authgate.timefmt import utc_datetime

__all__ = ["CacheNotices", "NoticeTarget", "parse_notice"]

NoticeTarget = Literal["credential", "principal", "all"]
log = logging.getLogger("authgate.cache")


class CacheNotices:
    """Writes ``cache`` rows of the ``changes`` table for the other processes.

    Args:
        db: the database.
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._pending: set[asyncio.Task[None]] = set()

    def notify(self, target: NoticeTarget, ident: str = "") -> None:
        """Schedule the notice (called after the change committed, from the event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing runs that could be told
            return
        task = loop.create_task(self._write(f"{target}:{ident}"), name="authgate-notice")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait until every scheduled notice is written."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _write(self, subject: str) -> None:
        try:
            async with self._db.session() as s, s.begin():
                s.add(ChangeRecord(kind="cache", subject=subject, at=utc_datetime(self._clock())))
        except Exception:  # other servers fall back to credential_cache_ttl
            log.warning("could not record a cache notice for %s", subject, exc_info=True)


def parse_notice(subject: str) -> tuple[NoticeTarget, str] | None:
    """``credential:ID`` → ("credential", ID); None for anything this version does not know."""
    target, _, ident = subject.partition(":")
    if target == "credential" and ident:
        return "credential", ident
    if target == "principal" and ident:
        return "principal", ident
    if target == "all":
        return "all", ""
    return None
