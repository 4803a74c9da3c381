"""``/v1/audit``: admins read every event; a member reads events about themself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from authgate.accounts.users import is_admin
from authgate.audit.query import AuditQuery, event_json, find_events
from authgate.server.deps import Caller, Rt
from authgate.server.schemas import MAX_ROW_ID

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", summary="Audit events, newest first")
async def list_events(
    rt: Rt,
    actor: Caller,
    limit: int = Query(default=100, ge=1, le=1000),
    before_id: int | None = Query(default=None, ge=1, le=MAX_ROW_ID),
    event: str | None = Query(
        default=None,
        max_length=64,
        description="An event name (key.created) or a family (key.*)",
    ),
    since: Annotated[
        datetime | None, Query(description="Only events at or after this time")
    ] = None,
) -> dict[str, Any]:
    query = AuditQuery(
        limit=limit,
        event=event,
        since=since,
        before_id=before_id,
        visible_to=None if is_admin(actor) else actor.principal_id,
    )
    events = await find_events(rt.db, query)
    return {
        "events": [event_json(e) for e in events],
        "next_before_id": events[-1].id if len(events) == limit else None,
    }
