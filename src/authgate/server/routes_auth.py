"""``POST /auth``, ``POST /auth/refresh`` and ``GET /.well-known/jwks.json``.

The key/secret exchange answers like an RFC 6749 §5.1 token response (``Cache-Control:
no-store``); refresh rotates the refresh token (RFC 6749 §6, RFC 9700 §4.14.2). The JWK
Set (RFC 7517 §5) is public and cacheable for less than the signing keys' publish delay,
so a verifier always learns a new key before the first token it signs.

Credentials for ``/auth``: HTTP Basic ``key:secret`` (RFC 7617) or a JSON body
``{"api_key", "api_secret"}`` — not both. Malformed input is a 400, any credential
failure the uniform 401.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from authgate.audit.events import AuditRecord
from authgate.errors import AuthError, InvalidCredentials, InvalidRequest, Unauthorized
from authgate.http.asgi import get_identity
from authgate.oauth.security_events import is_family_revocation
from authgate.runtime import Runtime
from authgate.schemes.basic import parse_basic
from authgate.server.deps import Rt, client_ip
from authgate.tokens.services import TokenServices

__all__ = ["router", "token_services"]

router = APIRouter(tags=["tokens"])

_MAX_FIELD = 1024
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
_BASIC_CHALLENGE = 'Basic realm="authgate", charset="UTF-8"'


async def token_services(request: Request, rt: Rt) -> TokenServices:
    """The runtime's token services."""
    return rt.tokens


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return value


def _string(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required.")
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_FIELD:
        raise InvalidRequest(f"{name} must be a non-empty string of at most {_MAX_FIELD}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from "\ud800" in the JSON
        raise InvalidRequest(f"{name} is not valid Unicode.") from exc
    return value


def _credentials(request: Request, body: dict[str, Any]) -> tuple[str, str]:
    authorization = request.headers.get("authorization")
    in_body = "api_key" in body or "api_secret" in body
    if authorization is not None and authorization.lstrip()[:6].lower() == "basic ":
        if in_body:
            raise InvalidRequest("Send the key pair either in Basic or in the body, not both.")
        parsed = parse_basic(authorization)
        if parsed is None:
            raise Unauthorized(challenges=(_BASIC_CHALLENGE,))
        return parsed
    if not in_body:
        raise Unauthorized(challenges=(_BASIC_CHALLENGE,))
    key = _string(body, "api_key", required=True)
    secret = _string(body, "api_secret", required=True)
    assert key is not None and secret is not None  # noqa: S101 - required=True
    return key, secret


def _token_response(payload: dict[str, Any]) -> JSONResponse:
    return JSONResponse(payload, headers=_NO_STORE)


async def _audit_failure(rt: Runtime, request: Request, exc: AuthError, *, scheme: str) -> None:
    """``auth.failure`` for a credential these routes check themselves: a key pair sent
    in the JSON body, or a refresh token, never meets the scheme chain (which audits
    what it rejects). The record holds the reason, never the key, secret or token."""
    await rt.audit.emit(
        AuditRecord.authentication_failure(
            request.url.path,
            reason=exc.reason,
            client_ip=client_ip(request),
            scheme=scheme,
            status=exc.status,
            error=exc.code,
        )
    )


@router.post("/auth", summary="Exchange a key/secret pair for an access and a refresh token")
async def exchange(request: Request, rt: Rt) -> JSONResponse:
    body = await _json_object(request)
    try:
        key, secret = _credentials(request, body)
        services = await token_services(request, rt)
        pair = await services.exchange.exchange(key, secret)
    except (Unauthorized, InvalidCredentials) as exc:
        await _audit_failure(rt, request, exc, scheme="keypair")
        raise
    return _token_response(pair.as_json())


@router.post("/auth/refresh", summary="Rotate a refresh token for a new token pair")
async def refresh(request: Request, rt: Rt) -> JSONResponse:
    body = await _json_object(request)
    token = _string(body, "refresh_token", required=True)
    assert token is not None  # noqa: S101 - required=True
    scope = body.get("scope")
    if scope is not None and (not isinstance(scope, str) or len(scope) > _MAX_FIELD):
        raise InvalidRequest("scope must be a space-separated string.")
    caller = get_identity(request.scope)
    client_id = None
    if caller is not None:
        # A request that authenticated must do so as the key pair the token belongs to.
        client_id = caller.credential_id or f"principal:{caller.principal_id}"
    services = await token_services(request, rt)
    try:
        pair = await services.exchange.rotate(
            token, client_id=client_id, scopes=scope.split() if scope is not None else None
        )
    except InvalidCredentials as exc:
        await _audit_failure(rt, request, exc, scheme="refresh_token")
        if is_family_revocation(exc):  # a security event of its own (RFC 9700 §4.14.2)
            await rt.oauth.audit_refresh_reuse(token, exc, "/auth/refresh", client_ip(request))
        raise
    return _token_response(pair.as_json())


@router.get("/.well-known/jwks.json", summary="The public keys of authgate's tokens")
async def jwks(request: Request, rt: Rt) -> Response:
    services = await token_services(request, rt)
    ring = await services.signing.refresh_if_stale()
    document = ring.jwks(services.signing.now())
    return Response(
        json.dumps(document, separators=(",", ":")),
        media_type="application/jwk-set+json",
        headers={"cache-control": f"public, max-age={services.config.jwks_max_age}"},
    )
