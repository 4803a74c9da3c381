"""Reading audit rows back in tests, and checking that none holds a secret."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from authgate.runtime import Runtime
from authgate.store.models import AuditEvent


async def audit_rows(rt: Runtime, event: str | None = None) -> list[dict[str, Any]]:
    """The audit rows written so far (oldest first), optionally of one event."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    async with rt.db.session() as s:
        rows = (await s.scalars(query)).all()
    return [
        {
            "event": r.event,
            "outcome": r.outcome,
            "actor_id": r.actor_id,
            "target_user_id": r.target_user_id,
            "credential_id": r.credential_id,
            "scheme": r.scheme,
            "client_ip": r.client_ip,
            "detail": r.detail,
        }
        for r in rows
    ]


def assert_no_secret(rows: list[dict[str, Any]], *secrets: str) -> None:
    """No row mentions any of ``secrets`` (nor a long part of one)."""
    text = json.dumps(rows)
    for secret in secrets:
        assert secret not in text
        if len(secret) > 16:
            assert secret[4:20] not in text
