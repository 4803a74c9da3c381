"""The revocation log: every revocation is a row of ``changes``, written in its own
transaction, applied at once by the process that made it and within
``change_poll_interval`` by every other server (:mod:`authgate.cache.change_feed`).

Kinds (``subject``, and from when ``at`` the change holds):

- ``credential``: an API key or key pair revoked (``at`` = now) or rotated with a grace
  (``at`` = the end of the grace): its cached verifications are dropped, and its access
  tokens are refused from ``at`` on.
- ``user``: a user disabled: cached credentials dropped, tokens naming them refused.
- ``client``: an OAuth client deleted (or its owner disabled): its tokens refused.
- ``token``: one access token's ``jti`` revoked; its expiry is in ``revoked_tokens``.
- ``cache``: no revocation, only a notice that cached verifications of ``credential:ID``,
  ``principal:ID`` or ``all`` are stale (a new password, a rotated client secret:
  :mod:`authgate.cache.notices`); never loaded at start-up.

A service stages its change in the session of its own change (:meth:`ChangeLog.stage`),
so the row exists exactly when the change was committed, and calls
:meth:`ChangeLog.committed` after the commit, which applies it to this process (and wakes
the other servers over Redis when configured).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_changes import ChangeRecord, RevokedTokenRecord
from authgate.timefmt import utc_datetime
from authgate.tokens.holders import HOLDER_RETENTION

__all__ = ["Change", "ChangeKind", "ChangeLog", "RevocationState"]

ChangeKind = Literal["credential", "user", "client", "token", "cache"]
log = logging.getLogger("authgate.tokens")


@dataclass(frozen=True, slots=True)
class Change:
    """One revocation.

    Attributes:
        kind: what was revoked.
        subject: its id (key id, user id, client_id, or the token's ``jti``).
        at: from when it holds, seconds since the epoch.
        expires_at: for ``token``: the token's ``exp``; otherwise None.
        id: the row id (0 until read back from the table).
    """

    kind: ChangeKind
    subject: str
    at: float
    expires_at: float | None = None
    id: int = 0


@dataclass(frozen=True, slots=True)
class RevocationState:
    """What a server loads at start-up: live changes, revoked tokens, the last row id."""

    changes: Sequence[Change]
    last_id: int


class ChangeLog:
    """Stages changes in a service's transaction and applies them once committed.

    Args:
        clock: returns the current time in seconds since the epoch.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # called with every change this process commits (the runtime applies it here
        # and wakes the other servers)
        self.on_committed: list[Callable[[Change], None]] = []

    def stage(
        self, session: AsyncSession, kind: ChangeKind, subject: str, at: float | None = None
    ) -> Change:
        """Add the change's row to ``session`` (committed with it); returns the change."""
        when = self._clock() if at is None else at
        session.add(ChangeRecord(kind=kind, subject=subject, at=utc_datetime(when)))
        return Change(kind, subject, when)

    async def stage_token(self, session: AsyncSession, jti: str, expires_at: float) -> Change:
        """Stage the revocation of one access token (``revoked_tokens`` and ``changes``)."""
        row = await session.get(RevokedTokenRecord, jti)
        if row is None:
            session.add(RevokedTokenRecord(jti=jti, expires_at=utc_datetime(expires_at)))
        elif row.expires_at.timestamp() < expires_at:
            row.expires_at = utc_datetime(expires_at)
        change = self.stage(session, "token", jti)
        return Change("token", jti, change.at, expires_at)

    def committed(self, *changes: Change) -> None:
        """Apply committed changes to this process (each callback's failure is logged)."""
        for change in changes:
            for callback in self.on_committed:
                try:
                    callback(change)
                except Exception:  # one failing consumer must not stop the others
                    log.exception("applying a revocation locally failed")


async def changes_since(db: Database, last_id: int, *, limit: int = 1000) -> list[Change]:
    """The changes after row ``last_id``, oldest first (tokens with their expiry)."""
    stmt = (
        select(ChangeRecord, RevokedTokenRecord.expires_at)
        .outerjoin(
            RevokedTokenRecord,
            (ChangeRecord.kind == "token") & (RevokedTokenRecord.jti == ChangeRecord.subject),
        )
        .where(ChangeRecord.id > last_id)
        .order_by(ChangeRecord.id)
        .limit(limit)
    )
    async with db.session() as s:
        rows = (await s.execute(stmt)).all()
    return [_change(row, expires) for row, expires in rows]


async def load_state(db: Database, *, now: float) -> RevocationState:
    """Everything still in force: holder changes within the retention, unexpired tokens,
    and every disabled user."""
    horizon = utc_datetime(now - HOLDER_RETENTION)
    async with db.session() as s:
        last_id = int(await s.scalar(select(func.coalesce(func.max(ChangeRecord.id), 0))) or 0)
        holders = (
            await s.scalars(
                select(ChangeRecord).where(
                    ChangeRecord.kind.not_in(("token", "cache")),
                    ChangeRecord.at >= horizon,
                    ChangeRecord.id <= last_id,
                )
            )
        ).all()
        tokens = (
            await s.scalars(
                select(RevokedTokenRecord).where(RevokedTokenRecord.expires_at > utc_datetime(now))
            )
        ).all()
        # users disabled before the log existed (or whose row was purged) stay denied too
        disabled = (await s.scalars(select(User.id).where(User.disabled.is_(True)))).all()
    out = [_change(row, None) for row in holders]
    out += [Change("user", user_id, 0.0) for user_id in disabled]
    out += [Change("token", t.jti, now, t.expires_at.timestamp()) for t in tokens]
    return RevocationState(out, last_id)


async def purge(db: Database, *, now: float) -> int:
    """Delete changes older than the retention and expired revoked tokens."""
    async with db.session() as s, s.begin():
        gone = await s.execute(
            delete(ChangeRecord).where(ChangeRecord.at < utc_datetime(now - HOLDER_RETENTION))
        )
        expired = await s.execute(
            delete(RevokedTokenRecord).where(RevokedTokenRecord.expires_at <= utc_datetime(now))
        )
    return int(getattr(gone, "rowcount", 0) or 0) + int(getattr(expired, "rowcount", 0) or 0)


def _change(row: ChangeRecord, expires: object) -> Change:
    kind: ChangeKind = row.kind  # type: ignore[assignment]  # written by ChangeLog only
    exp = expires.timestamp() if hasattr(expires, "timestamp") else None
    return Change(kind, row.subject, row.at.timestamp(), exp, row.id)
