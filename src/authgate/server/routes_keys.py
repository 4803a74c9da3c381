"""``/v1/keys``: API keys and key pairs (a member manages only their own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response

from authgate.durations import MAX_DURATION_SECONDS, parse_duration
from authgate.errors import InvalidRequest
from authgate.server.credential_routes import OwnerFilter, listing, shown_once
from authgate.server.deps import Caller, ClientIP, Rt
from authgate.server.schemas import KeyCreate, KeyRotate, SessionCreate

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def duration(value: str | int | None, field: str) -> timedelta | None:
    """A duration from JSON: ``"24h"``-style text or whole seconds (at most 100 years)."""
    if value is None:
        return None
    if isinstance(value, int):
        if not 0 <= value <= MAX_DURATION_SECONDS:
            raise InvalidRequest(f"{field} must be between 0 and {MAX_DURATION_SECONDS} seconds")
        return timedelta(seconds=value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise InvalidRequest(f"{field}: {exc}") from exc


@router.post("", status_code=201, summary="Create an API key or key pair (shown once)")
async def create_key(
    body: KeyCreate, rt: Rt, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    issued = await rt.keys.create(
        actor,
        user=body.user,
        name=body.name,
        scopes=body.scopes,
        expires_in=duration(body.expires_in, "expires_in"),
        type=body.type,
        client_ip=ip,
    )
    return shown_once(response, issued)


@router.post(
    "/temporary",
    status_code=201,
    summary="Issue temporary SigV4 credentials: key, secret and session token (shown once)",
)
async def create_temporary(
    body: SessionCreate, rt: Rt, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    issued = await rt.keys.create_session(
        actor,
        user=body.user,
        scopes=body.scopes,
        duration=duration(body.duration, "duration") or timedelta(hours=1),
        client_ip=ip,
    )
    return shown_once(response, issued)


@router.get("", summary="List keys (never the keys themselves)")
async def list_keys(rt: Rt, actor: Caller, user: OwnerFilter = None) -> dict[str, Any]:
    return listing("keys", await rt.keys.list_keys(actor, user=user))


@router.get("/{key_id}", summary="One key")
async def get_key(key_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return (await rt.keys.get(actor, key_id)).as_json()


@router.delete("/{key_id}", summary="Revoke a key (same as POST /revoke)", name="delete_key")
@router.post("/{key_id}/revoke", summary="Revoke a key (effective at once)")
async def revoke_key(key_id: str, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    return (await rt.keys.revoke(actor, key_id, client_ip=ip)).as_json()


@router.post("/{key_id}/rotate", status_code=201, summary="Rotate a key, with a grace period")
async def rotate_key(
    key_id: str,
    rt: Rt,
    actor: Caller,
    ip: ClientIP,
    response: Response,
    body: KeyRotate | None = None,
) -> dict[str, Any]:
    grace = duration(body.grace if body else "0", "grace") or timedelta(0)
    return shown_once(response, await rt.keys.rotate(actor, key_id, grace=grace, client_ip=ip))
