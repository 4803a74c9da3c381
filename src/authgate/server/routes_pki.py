"""``/v1/public-keys`` and ``/v1/certificates``: registered keys for RFC 9421 / OAuth 1.0a
RSA signatures, and client certificates for mTLS (a member manages only their own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from authgate.server.credential_routes import OwnerFilter, listing
from authgate.server.deps import Caller, ClientIP, Rt

router = APIRouter(tags=["pki"])


class PublicKeyAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(max_length=200, description="The keyid clients will send.")
    algorithm: str = Field(description="ed25519, ecdsa-p256-sha256 or rsa-sha256 (pinned).")
    public_key_pem: str = Field(max_length=16_384)
    name: str | None = Field(default=None, max_length=200)
    user: str | None = Field(default=None, max_length=128, description="Owner (admins only).")


class CertificateAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_pem: str = Field(max_length=32_768)
    name: str | None = Field(default=None, max_length=200)
    user: str | None = Field(default=None, max_length=128, description="Owner (admins only).")


@router.post("/v1/public-keys", status_code=201, summary="Register a public key")
async def add_public_key(body: PublicKeyAdd, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    # the body's fields are the service's parameters, one for one
    return (await rt.pki.add_public_key(actor, **body.model_dump(), client_ip=ip)).as_json()


@router.get("/v1/public-keys", summary="List registered public keys")
async def list_public_keys(rt: Rt, actor: Caller, user: OwnerFilter = None) -> dict[str, Any]:
    return listing("public_keys", await rt.pki.list_public_keys(actor, user=user))


@router.post("/v1/public-keys/{id}/revoke", summary="Revoke a registered public key")
async def revoke_public_key(id: str, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    return (await rt.pki.revoke_public_key(actor, id, client_ip=ip)).as_json()


@router.post("/v1/certificates", status_code=201, summary="Register a client certificate")
async def add_certificate(
    body: CertificateAdd, rt: Rt, actor: Caller, ip: ClientIP
) -> dict[str, Any]:
    view = await rt.pki.add_certificate(
        actor, certificate=body.certificate_pem, user=body.user, name=body.name, client_ip=ip
    )
    return view.as_json()


@router.get("/v1/certificates", summary="List client certificates")
async def list_certificates(rt: Rt, actor: Caller, user: OwnerFilter = None) -> dict[str, Any]:
    return listing("certificates", await rt.pki.list_certificates(actor, user=user))


@router.post("/v1/certificates/{id}/revoke", summary="Revoke a client certificate")
async def revoke_certificate(id: str, rt: Rt, actor: Caller, ip: ClientIP) -> dict[str, Any]:
    return (await rt.pki.revoke_certificate(actor, id, client_ip=ip)).as_json()
