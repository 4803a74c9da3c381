"""``/v1/clients``: registered OAuth 2.0 clients (RFC 6749 §2; a member manages only their
own). Shapes match ``authgate clients ...`` (docs/oauth.md, Clients): creation and secret
rotation answer ``{"client_id", "client_secret" (confidential only), "grants",
"redirect_uris", "scopes", ...}`` with ``Cache-Control: no-store``; the secret is never
shown again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from authgate.server.credential_routes import OwnerFilter, listing, shown_once
from authgate.server.deps import Caller, ClientIP, Rt

__all__ = ["ClientCreate", "router"]

router = APIRouter(prefix="/v1/clients", tags=["oauth clients"])


class ClientCreate(BaseModel):
    """A client registration (unknown fields refused: no mass assignment)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="A label for the client.")
    grants: list[str] = Field(
        min_length=1,
        max_length=4,
        description="client_credentials, authorization_code, refresh_token, device_code.",
    )
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    scopes: list[str] = Field(default_factory=list, max_length=64)
    public: bool = Field(default=False, description="A public client (no secret, PKCE).")
    token_endpoint_auth_method: str | None = Field(
        default=None,
        description="client_secret_basic (default), client_secret_post, private_key_jwt, none.",
    )
    jwks: dict[str, Any] | None = Field(
        default=None, description="Public JWK Set for private_key_jwt (RFC 7523)."
    )
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )


@router.post("", status_code=201, summary="Register an OAuth client (secret shown once)")
async def create_client(
    body: ClientCreate, rt: Rt, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    # the body's fields are the service's parameters, one for one
    issued = await rt.oauth.clients.create(actor, **body.model_dump(), client_ip=ip)
    return shown_once(response, issued)


@router.get("", summary="List OAuth clients (never their secrets)")
async def list_clients(rt: Rt, actor: Caller, user: OwnerFilter = None) -> dict[str, Any]:
    return listing("clients", await rt.oauth.clients.list_clients(actor, user=user))


@router.get("/{client_id}", summary="One OAuth client")
async def get_client(client_id: str, rt: Rt, actor: Caller) -> dict[str, Any]:
    return (await rt.oauth.clients.get(actor, client_id)).as_json()


@router.post(
    "/{client_id}/rotate-secret",
    status_code=201,
    summary="Replace a client's secret (the old one stops working at once)",
)
async def rotate_secret(
    client_id: str, rt: Rt, actor: Caller, ip: ClientIP, response: Response
) -> dict[str, Any]:
    issued = await rt.oauth.clients.rotate_secret(actor, client_id, client_ip=ip)
    return shown_once(response, issued)


@router.delete("/{client_id}", summary="Delete an OAuth client")
async def delete_client(client_id: str, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    return (await rt.oauth.clients.delete(actor, client_id, client_ip=ip)).as_json()
