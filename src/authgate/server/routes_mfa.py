"""``/v1/mfa``: TOTP enrolment (RFC 6238), confirmation, verification and removal.

A member manages only their own factor; an admin may name another user (``user``).
Secrets, otpauth URIs, QR codes and recovery codes are shown once, with
``cache-control: no-store``. Turning one's own factor off and replacing one's recovery
codes need a current TOTP or unused recovery code in the body (``{"code": ...}``),
whatever credential made the request (see :mod:`authgate.mfa.service`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from authgate.errors import InvalidCredentials
from authgate.mfa.service import MfaService
from authgate.server.deps import Caller, ClientIP, Rt

__all__ = ["Mfa", "mfa_service", "router"]

router = APIRouter(prefix="/v1/mfa", tags=["mfa"])


class TotpBegin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64, description="The code shown by the authenticator app.")
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )


class TotpDisable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "A current TOTP code or an unused recovery code of the factor's owner: required "
            "to turn off your own TOTP (an admin removing another user's factor needs none)."
        ),
    )


class SecondFactorCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        max_length=64, description="A current TOTP code or an unused recovery code of the caller."
    )


class TotpVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64, description="A TOTP code of the caller.")


def mfa_service(rt: Rt) -> MfaService:
    """The runtime's one :class:`MfaService` (its throttle state is shared by requests)."""
    return rt.mfa


Mfa = Annotated[MfaService, Depends(mfa_service)]


@router.post("/totp", status_code=201, summary="Start TOTP enrolment (secret shown once)")
async def begin_totp(
    mfa: Mfa, actor: Caller, ip: ClientIP, response: Response, body: TotpBegin | None = None
) -> dict[str, Any]:
    started = await mfa.begin_enrolment(actor, body.user if body else None, client_ip=ip)
    response.headers["cache-control"] = "no-store"
    return started.as_json()


@router.post("/totp/confirm", summary="Confirm TOTP with a code (recovery codes shown once)")
async def confirm_totp(
    body: TotpCode, mfa: Mfa, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    codes = await mfa.confirm_enrolment(actor, body.user, body.code, client_ip=ip)
    response.headers["cache-control"] = "no-store"
    return {"enabled": True, "recovery_codes": codes}


@router.delete(
    "/totp",
    summary="Disable TOTP and delete the recovery codes (own factor: with a current code)",
)
async def disable_totp(
    mfa: Mfa,
    actor: Caller,
    ip: ClientIP,
    user: str | None = Query(default=None, max_length=128),
    body: TotpDisable | None = None,
) -> dict[str, Any]:
    await mfa.disable(actor, user, code=body.code if body else None, client_ip=ip)
    return {"enabled": False}


@router.post(
    "/totp/recovery-codes",
    summary="Replace the caller's recovery codes (with a current code; shown once)",
)
async def replace_recovery_codes(
    body: SecondFactorCode, mfa: Mfa, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    codes = await mfa.regenerate_recovery_codes(actor, body.code, client_ip=ip)
    response.headers["cache-control"] = "no-store"
    return {"recovery_codes": codes}


@router.post("/totp/verify", summary="Check a TOTP code of the caller (200, or 401)")
async def verify_totp(
    body: TotpVerify, mfa: Mfa, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    response.headers["cache-control"] = "no-store"
    if await mfa.verify(actor.principal_id, body.code, client_ip=ip):
        return {"verified": True}
    # wrong, replayed, throttled or not enrolled: one answer for all
    raise InvalidCredentials("The code is invalid.")
