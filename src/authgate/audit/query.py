"""Reading audit events back: one query for ``GET /v1/audit`` and ``authgate audit``.

Filters: the user an event is by or about, the credential it concerns, the event name
(exact, or a family such as ``key.*``), events since a time, and id bounds for paging
(``before_id``, newest first) and following (``after_id``, oldest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, or_, select

from authgate.store.db import Database
from authgate.store.models import AuditEvent
from authgate.timefmt import iso_utc

__all__ = ["AuditQuery", "event_json", "find_events"]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which events to read. ``user_id`` matches the actor or the target user;
    ``visible_to`` (a member's id) limits the result to events by or about them."""

    limit: int = 100
    user_id: str | None = None
    credential_id: str | None = None
    event: str | None = None
    since: datetime | None = None
    before_id: int | None = None
    after_id: int | None = None
    visible_to: str | None = None

    def statement(self) -> Select[AuditEvent]:
        """Newest first, or oldest first when following (``after_id``)."""
        order = AuditEvent.id.asc() if self.after_id is not None else AuditEvent.id.desc()
        stmt = select(AuditEvent).order_by(order).limit(self.limit)
        for principal in (self.visible_to, self.user_id):
            if principal is not None:
                stmt = stmt.where(
                    or_(
                        AuditEvent.actor_id == principal,
                        AuditEvent.target_user_id == principal,
                    )
                )
        if self.credential_id is not None:
            stmt = stmt.where(AuditEvent.credential_id == self.credential_id)
        if self.event is not None and self.event != "*":
            if self.event.endswith(".*"):
                stmt = stmt.where(AuditEvent.event.startswith(self.event[:-1], autoescape=True))
            else:
                stmt = stmt.where(AuditEvent.event == self.event)
        if self.since is not None:
            stmt = stmt.where(AuditEvent.at >= _utc(self.since))
        if self.before_id is not None:
            stmt = stmt.where(AuditEvent.id < self.before_id)
        if self.after_id is not None:
            stmt = stmt.where(AuditEvent.id > self.after_id)
        return stmt


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC (naive: taken as UTC); clamped at the ends of the calendar."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        edge = datetime.min if moment.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


async def find_events(db: Database, query: AuditQuery) -> list[AuditEvent]:
    async with db.session() as s:
        return list((await s.scalars(query.statement())).all())


def event_json(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso_utc(e.at),
        "event": e.event,
        "outcome": e.outcome,
        "actor": e.actor,
        "actor_id": e.actor_id,
        "target_user_id": e.target_user_id,
        "credential_id": e.credential_id,
        "scheme": e.scheme,
        "client_ip": e.client_ip,
        "detail": e.detail,
    }
