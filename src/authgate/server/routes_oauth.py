"""``/oauth/token``, ``/oauth/introspect``, ``/oauth/revoke`` and the metadata documents.

Thin HTTP adapter over :class:`authgate.oauth.server.OAuthServer`: RFC 6749 §3.2 (token
requests are POSTed forms; §5.1 ``Cache-Control: no-store``), RFC 7662 §2 (introspection),
RFC 7009 §2 (revocation: 200 with an empty body), RFC 8414 §3 (metadata at
``/.well-known/oauth-authorization-server``), OIDC Discovery §4
(``/.well-known/openid-configuration``). The body is read raw and parsed by
:func:`authgate.oauth.form.parse_form` (strict, duplicates refused) rather than by a
multipart parser: this is the hot path of machine-to-machine traffic.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from authgate.http.asgi import get_identity
from authgate.oauth.form import parse_form
from authgate.oauth.metadata import authorization_server_metadata, openid_configuration
from authgate.server.deps import Rt, client_ip

__all__ = ["router"]

router = APIRouter(tags=["oauth"])

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
_METADATA_MAX_AGE = {"cache-control": "public, max-age=3600"}


def _json(payload: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":")),
        media_type="application/json",
        headers=headers,
    )


async def _form(request: Request) -> dict[str, str]:
    return parse_form(
        await request.body(),
        request.headers.get("content-type"),
        request.scope.get("query_string", b""),
    )


@router.post("/oauth/token", summary="OAuth 2.0 token endpoint (RFC 6749 §3.2)")
async def token(request: Request, rt: Rt) -> Response:
    form = await _form(request)
    body = await rt.oauth.token(
        request.headers.get("authorization"),
        form,
        x5t_s256=rt.oauth.certificates.x5t_s256_of_scope(request.scope),
        client_ip=client_ip(request),
    )
    return _json(body, _NO_STORE)


@router.post("/oauth/introspect", summary="Token introspection (RFC 7662)")
async def introspect(request: Request, rt: Rt) -> Response:
    form = await _form(request)
    body = await rt.oauth.introspect(
        request.headers.get("authorization"), form, client_ip=client_ip(request)
    )
    return _json(body, _NO_STORE)


@router.post("/oauth/revoke", summary="Token revocation (RFC 7009)")
async def revoke(request: Request, rt: Rt) -> Response:
    form = await _form(request)
    await rt.oauth.revoke(request.headers.get("authorization"), form, client_ip=client_ip(request))
    return Response(b"", status_code=200, headers=_NO_STORE)


@router.get("/oauth/userinfo", summary="OpenID Connect UserInfo (OIDC Core §5.3)")
async def userinfo(request: Request, rt: Rt) -> Response:
    body = await rt.oauth.userinfo(get_identity(request.scope))
    return _json(body, _NO_STORE)


@router.post("/oauth/userinfo", summary="OpenID Connect UserInfo, POST (OIDC Core §5.3.1)")
async def userinfo_post(request: Request, rt: Rt) -> Response:
    return await userinfo(request, rt)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(rt: Rt) -> Response:
    document = authorization_server_metadata(
        rt.oauth.issuer, grant_types=rt.oauth.grants.grant_types
    )
    return _json(document, _METADATA_MAX_AGE)


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
async def openid(rt: Rt) -> Response:
    document = openid_configuration(
        rt.oauth.issuer,
        signing_algorithms=rt.tokens.config.signing_algorithms,
        grant_types=rt.oauth.grants.grant_types,
    )
    return _json(document, _METADATA_MAX_AGE)
