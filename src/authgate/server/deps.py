"""FastAPI dependencies: the runtime, the caller's identity (declared in OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from fastapi.security.http import HTTPAuthorizationCredentials

from authgate.errors import Forbidden
from authgate.gateway.middleware import CLIENT_IP_SCOPE_KEY, get_identity
from authgate.identity import Identity
from authgate.runtime import Runtime

__all__ = ["Caller", "ClientIP", "Rt", "caller", "runtime"]

# Declared so OpenAPI lists the security schemes; the middleware has already verified.
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader")
_basic = HTTPBasic(auto_error=False, scheme_name="Basic")
_bearer = HTTPBearer(auto_error=False, scheme_name="Bearer")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def caller(
    request: Request,
    _k: Annotated[str | None, Security(_api_key)] = None,
    _b: Annotated[HTTPBasicCredentials | None, Security(_basic)] = None,
    _t: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Identity:
    identity = get_identity(request.scope)
    if identity is None:
        raise runtime(request).chain.unauthorized()
    if identity.claims.get("session"):
        # temporary SigV4 credentials call APIs; they never manage accounts or keys
        raise Forbidden("temporary credentials cannot use the admin API")
    return identity


def client_ip(request: Request) -> str | None:
    ip: str | None = request.scope.get(CLIENT_IP_SCOPE_KEY)
    return ip


Rt = Annotated[Runtime, Depends(runtime)]
Caller = Annotated[Identity, Depends(caller)]
ClientIP = Annotated[str | None, Depends(client_ip)]
