"""``/v1/audit``: admins read every event; a member reads events about themself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from authgate.accounts.users import is_admin
from authgate.server.deps import Caller, Rt
from authgate.server.schemas import MAX_ROW_ID
from authgate.store.models import AuditEvent
from authgate.timefmt import iso_utc

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _event_json(e: AuditEvent) -> dict[str, Any]:
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


@router.get("", summary="Audit events, newest first")
async def list_events(
    rt: Rt,
    actor: Caller,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = Query(default=None, ge=1, le=MAX_ROW_ID),
    event: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if not is_admin(actor):
        stmt = stmt.where(
            or_(
                AuditEvent.actor_id == actor.principal_id,
                AuditEvent.target_user_id == actor.principal_id,
            )
        )
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    if event is not None:
        stmt = stmt.where(AuditEvent.event == event)
    async with rt.db.session() as s:
        events = (await s.scalars(stmt)).all()
    return {
        "events": [_event_json(e) for e in events],
        "next_before_id": events[-1].id if len(events) == limit else None,
    }
