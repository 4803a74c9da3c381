"""The FastAPI application behind the fast paths: admin API, health, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from authgate.embedding.fastapi import declare_api_key_header, error_response
from authgate.errors import AuthError, InvalidRequest, NotFound
from authgate.server import (
    routes_audit,
    routes_auth,
    routes_authorize,
    routes_clients,
    routes_device,
    routes_device_page,
    routes_keys,
    routes_mfa,
    routes_oauth,
    routes_pki,
    routes_users,
)
from authgate.server.deps import Caller, Rt, management_guard
from authgate.server.readiness import unavailable_dependencies

__all__ = ["create_api"]


def create_api(*, api_key_header: str = "X-API-Key") -> FastAPI:
    """The FastAPI app; its OpenAPI document names ``api_key_header`` (``Settings``)."""
    api = FastAPI(
        title="authgate",
        version="0.1.0",
        description="API authentication and authorization: keys, users, audit.",
        docs_url="/docs",
        redoc_url=None,
    )

    @api.exception_handler(AuthError)
    async def _auth_error(_: Request, exc: AuthError) -> Response:
        return error_response(exc)

    @api.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
        return error_response(InvalidRequest(msg[:300]))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(NotFound())
        if exc.status_code == 400:
            return error_response(InvalidRequest("The request body could not be parsed."))
        err = AuthError(str(exc.detail)[:200])
        err.status, err.code = exc.status_code, "http_error"
        return error_response(err)

    @api.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # never a stack trace or internals in the response
        return JSONResponse(
            {"error": "server_error", "error_description": "Internal error."}, status_code=500
        )

    @api.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the database and, when configured, Redis answer",
    )
    async def readyz(rt: Rt) -> Response:
        down = await unavailable_dependencies(rt)
        if down:
            return JSONResponse({"status": "unavailable", "unavailable": down}, status_code=503)
        return JSONResponse({"status": "ready"})

    @api.get("/v1/whoami", tags=["identity"], summary="Who the credentials say you are")
    async def whoami(actor: Caller) -> dict[str, Any]:
        return actor.as_json()

    # The management API: a delegated OAuth token needs authgate:manage for any of it.
    manage = [Depends(management_guard)]
    api.include_router(routes_keys.router, dependencies=manage)
    api.include_router(routes_users.router, dependencies=manage)
    api.include_router(routes_audit.router, dependencies=manage)  # the console reads it
    api.include_router(routes_mfa.router, dependencies=manage)
    api.include_router(routes_pki.router, dependencies=manage)
    api.include_router(routes_auth.router)
    api.include_router(routes_clients.router, dependencies=manage)
    api.include_router(routes_oauth.router)
    api.include_router(routes_authorize.router)
    api.include_router(routes_device.router)
    api.include_router(routes_device_page.router)
    declare_api_key_header(api, api_key_header)
    return api
