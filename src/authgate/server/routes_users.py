"""``/v1/users``: admins manage users; a member sees only themself."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from authgate.crypto.passwords import generate_password
from authgate.server.deps import Caller, ClientIP, Rt
from authgate.server.schemas import PasswordSet, UserCreate

router = APIRouter(prefix="/v1/users", tags=["users"])


class PasswordChange(PasswordSet):
    """``PUT /v1/users/{name}/password``: the new password, and for one's own the proof."""

    code: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "With current_password, when changing your own password and your account has a "
            "second factor: a current TOTP code or an unused recovery code."
        ),
    )


@router.post("", status_code=201, summary="Create a user (admin)")
async def create_user(
    body: UserCreate, rt: Rt, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    generated = body.password is None
    password = generate_password() if generated else body.password
    user = await rt.users.create(
        actor, body.name, role=body.role, password=password, scopes=body.scopes, client_ip=ip
    )
    out = user.as_json()
    if generated:
        out["password"] = password  # shown once
        response.headers["cache-control"] = "no-store"
    return out


@router.get("", summary="List users (a member sees only themself)")
async def list_users(rt: Rt, actor: Caller) -> dict[str, Any]:
    return {"users": [u.as_json() for u in await rt.users.list_users(actor)]}


@router.get("/{name}", summary="One user")
async def get_user(name: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return (await rt.users.get(actor, name)).as_json()


@router.post("/{name}/disable", summary="Disable a user and all their credentials (admin)")
async def disable_user(name: str, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    return (await rt.users.disable(actor, name, client_ip=ip)).as_json()


@router.put("/{name}/password", status_code=204, summary="Set a password (own, or admin)")
async def set_password(
    name: str, body: PasswordChange, rt: Rt, actor: Caller, ip: ClientIP
) -> None:
    await rt.users.set_password(
        actor,
        name,
        body.password,
        current_password=body.current_password,
        code=body.code,
        client_ip=ip,
    )
