"""``authgate audit list`` and ``authgate audit tail``: read the audit log (the query
``GET /v1/audit`` uses, :mod:`authgate.audit.query`)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from authgate.audit.query import AuditQuery, event_json, find_events
from authgate.cli.common import JsonOpt, run
from authgate.cli.ids import resolve_key_id
from authgate.cli.output import console, emit, fail, table
from authgate.durations import parse_duration
from authgate.errors import NotFound
from authgate.runtime import Runtime

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)

UserOpt = Annotated[
    str | None, typer.Option(metavar="USER", help="Events by or about this user (a name).")
]
KeyOpt = Annotated[
    str | None,
    typer.Option(metavar="KEY", help="Events about this key: id, id prefix or agk_/agp_ prefix."),
]
EventOpt = Annotated[
    str | None,
    typer.Option(metavar="EVENT", help="An event (key.created) or a family (key.*)."),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        metavar="DURATION|TIME",
        help="Only events since then: a duration ago (1h, 7d) or an ISO 8601 time.",
    ),
]


def _since(value: str | None, as_json: bool) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(
            f"invalid --since {value!r}: give a duration (1h, 7d) or a time (2026-01-31T12:00:00Z)",
            as_json=as_json,
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _query(
    rt: Runtime,
    *,
    user: str | None,
    key: str | None,
    event: str | None,
    since: datetime | None,
    limit: int,
) -> AuditQuery:
    user_id = None
    if user is not None:
        found = await rt.users.find(user)
        if found is None:
            raise NotFound("no such user")
        user_id = found.id
    key_id = None
    if key is not None:
        try:
            key_id = await resolve_key_id(rt, key)
        except NotFound:
            if not re.fullmatch(r"[0-9a-f]{32}", key):
                raise
            key_id = key  # a full id whose key is gone (its owner was deleted)
    return AuditQuery(limit=limit, user_id=user_id, credential_id=key_id, event=event, since=since)


def _line(e: dict[str, Any]) -> str:
    parts = [e["at"], e["event"], e["outcome"]]
    for label, field in (("actor", "actor"), ("user", "target_user_id"), ("key", "credential_id")):
        if e.get(field):
            parts.append(f"{label}={e[field]}")
    if e.get("client_ip"):
        parts.append(f"ip={e['client_ip']}")
    if e.get("detail"):
        parts.append(json.dumps(e["detail"], ensure_ascii=False, sort_keys=True))
    return "  ".join(str(p) for p in parts)


@audit_app.command("list")
def audit_list(
    user: UserOpt = None,
    key: KeyOpt = None,
    event: EventOpt = None,
    since: SinceOpt = None,
    limit: Annotated[
        int, typer.Option(metavar="N", min=1, max=10_000, help="Most events to show.")
    ] = 50,
    wide: Annotated[bool, typer.Option("--wide", help="Full ids, no truncation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Audit events, newest first."""
    moment = _since(since, as_json)

    async def work(rt: Runtime) -> list[dict[str, Any]]:
        q = await _query(rt, user=user, key=key, event=event, since=moment, limit=limit)
        return [event_json(e) for e in await find_events(rt.db, q)]

    rows = run(as_json, work)
    if as_json:
        emit({"events": rows}, as_json=True)
        return
    cols = ["id", "at", "event", "outcome", "actor", "target_user_id", "credential_id"]
    table(rows, cols, "Audit events", wide=wide, id_columns=("target_user_id", "credential_id"))


@audit_app.command("tail")
def audit_tail(
    user: UserOpt = None,
    key: KeyOpt = None,
    event: EventOpt = None,
    since: SinceOpt = None,
    lines: Annotated[
        int, typer.Option("--lines", "-n", metavar="N", min=0, help="Past events to show first.")
    ] = 10,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Keep printing new events (Ctrl-C ends).")
    ] = True,
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.1, help="How often to look for new events.")
    ] = 1.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (JSON Lines).")
    ] = False,
) -> None:
    """Print the last events oldest first, then new ones as they are written."""
    moment = _since(since, as_json)

    def show(e: dict[str, Any]) -> None:
        if as_json:
            sys.stdout.write(json.dumps(e, ensure_ascii=False) + "\n")
        else:
            console.print(_line(e), markup=False)
        sys.stdout.flush()

    async def work(rt: Runtime) -> None:
        q = await _query(rt, user=user, key=key, event=event, since=moment, limit=max(lines, 1))
        past = list(reversed(await find_events(rt.db, q))) if lines else []
        last = past[-1].id if past else 0
        if not lines:
            newest = await find_events(rt.db, AuditQuery(limit=1))
            last = newest[0].id if newest else 0
        for e in past:
            show(event_json(e))
        while follow:
            await asyncio.sleep(interval)
            new = await find_events(
                rt.db,
                AuditQuery(
                    limit=1000,
                    user_id=q.user_id,
                    credential_id=q.credential_id,
                    event=q.event,
                    since=q.since,
                    after_id=last,
                ),
            )
            for e in new:
                show(event_json(e))
                last = e.id

    try:
        run(as_json, work)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
