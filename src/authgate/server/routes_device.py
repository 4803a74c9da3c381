"""``/oauth/device_authorization``: the device authorization endpoint (RFC 8628 §3.1, §3.2).

Thin HTTP adapter over :class:`authgate.oauth.device.DeviceService`. The request is a
POSTed form (parsed strictly by :func:`authgate.oauth.form.parse_form`, like the token
endpoint); the client authenticates as at the token endpoint (RFC 8628 §3.1 refers to
RFC 6749 §2.3: confidential clients with their credentials, public clients with
``client_id`` alone) and must be registered for the device grant (else
``unauthorized_client``). ``scope`` is optional: omitted, the client's registered scopes;
beyond them, ``invalid_scope``. The answer is the §3.2 JSON with ``Cache-Control:
no-store`` (it carries the device code). Errors are RFC 6749 §5.2 bodies (§3.2).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from authgate.oauth.form import parse_form
from authgate.oauth.grants import check_grant_allowed, parse_scope, resolve_scopes
from authgate.oauth.registration import DEVICE_CODE_GRANT
from authgate.server.deps import Rt, client_ip

__all__ = ["router"]

router = APIRouter(tags=["oauth"])

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _json(payload: dict[str, Any]) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":")),
        media_type="application/json",
        headers=_NO_STORE,
    )


@router.post(
    "/oauth/device_authorization",
    summary="Device authorization endpoint (RFC 8628 §3.1)",
)
async def device_authorization(request: Request, rt: Rt) -> Response:
    form = parse_form(
        await request.body(),
        request.headers.get("content-type"),
        request.scope.get("query_string", b""),
    )
    client = await rt.oauth.authenticate(
        request.headers.get("authorization"),
        form,
        confidential=False,
        client_ip=client_ip(request),
        path="/oauth/device_authorization",
    )
    check_grant_allowed(client, DEVICE_CODE_GRANT)
    scopes = resolve_scopes(parse_scope(form.get("scope")), client.scopes)
    started = await rt.oauth.device.start(client, scopes)
    return _json(started.as_json())
