"""Deleting a user: revoke everything they hold first, then remove their rows.

Order matters: the user is disabled (their cached verifications, refresh-token families,
access tokens and browser sessions die), each active key and key pair is revoked (its
tokens are denied), their OAuth clients are deleted, their public keys and certificates
revoked — each with its usual audit event — and only then are the rows removed, in one
transaction, and ``user.deleted`` recorded. Audit events about the user are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from authgate.accounts.users import is_admin
from authgate.audit import AuditRecord
from authgate.errors import Conflict, Forbidden, InvalidRequest, NotFound
from authgate.identity import Identity
from authgate.runtime import Runtime
from authgate.store.models import Credential, User
from authgate.store.models_authz import (
    AuthorizationCodeRecord,
    ConsentRecord,
    LoginSessionRecord,
)
from authgate.store.models_device import DeviceCodeRecord
from authgate.store.models_mfa import RecoveryCode, TotpFactor
from authgate.store.models_oauth import OAuthClientRecord
from authgate.store.models_pki import ClientCertificate, PublicKey
from authgate.store.models_tokens import RefreshTokenRecord

__all__ = ["UserRemoval", "delete_user"]


@dataclass(frozen=True, slots=True)
class UserRemoval:
    """What deleting a user revoked and removed."""

    user_id: str
    name: str
    keys_revoked: int
    clients_deleted: int
    public_keys_revoked: int
    certificates_revoked: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "name": self.name,
            "status": "deleted",
            "keys_revoked": self.keys_revoked,
            "clients_deleted": self.clients_deleted,
            "public_keys_revoked": self.public_keys_revoked,
            "certificates_revoked": self.certificates_revoked,
        }


async def _check(rt: Runtime, actor: Identity, name: str) -> User:
    if not is_admin(actor):
        raise Forbidden("only admins delete users")
    user = await rt.users.find(name)
    if user is None:
        raise NotFound("no such user")
    if user.id == actor.principal_id:
        raise InvalidRequest("an admin cannot delete their own account")
    if user.role == "admin" and not user.disabled:
        async with rt.db.session() as s:
            others = await s.scalar(
                select(func.count())
                .select_from(User)
                .where(User.role == "admin", User.disabled.is_(False), User.id != user.id)
            )
        if not others:
            raise Conflict("this is the last enabled admin: create or enable another first")
    return user


async def delete_user(
    rt: Runtime, actor: Identity, name: str, *, client_ip: str | None = None
) -> UserRemoval:
    """Revoke every credential and token of user ``name``, then delete the user.

    Raises:
        NotFound: no such user.
        Forbidden: ``actor`` is not an admin.
        InvalidRequest: ``actor`` deleting themself.
        Conflict: the last enabled admin.
    """
    user = await _check(rt, actor, name)
    if not user.disabled:
        await rt.users.disable(actor, name, client_ip=client_ip)
    elif rt.users.after_disable is not None:
        await rt.users.after_disable(user.id)  # tokens and sessions, once more
    keys = [
        k
        for k in await rt.keys.list_keys(actor, user=name)
        if k.revoked_at is None and k.type != "session"
    ]
    for key in keys:
        await rt.keys.revoke(actor, key.id, client_ip=client_ip)
    clients = await rt.oauth.clients.list_clients(actor, user=name)
    for client in clients:
        await rt.oauth.clients.delete(actor, client.client_id, client_ip=client_ip)
    public_keys = [
        k for k in await rt.pki.list_public_keys(actor, user=name) if k.revoked_at is None
    ]
    for pk in public_keys:
        await rt.pki.revoke_public_key(actor, pk.id, client_ip=client_ip)
    certificates = [
        c for c in await rt.pki.list_certificates(actor, user=name) if c.revoked_at is None
    ]
    for cert in certificates:
        await rt.pki.revoke_certificate(actor, cert.id, client_ip=client_ip)
    await rt.tokens.refresh.revoke_user(user.id)  # anything issued meanwhile
    async with rt.db.session() as s, s.begin():
        for model in (
            RefreshTokenRecord,
            AuthorizationCodeRecord,
            ConsentRecord,
            LoginSessionRecord,
            DeviceCodeRecord,
            RecoveryCode,
            TotpFactor,
            PublicKey,
            ClientCertificate,
        ):
            await s.execute(delete(model).where(model.user_id == user.id))
        # deleted clients stay (their ids are never reused); they just lose their owner
        await s.execute(
            update(OAuthClientRecord)
            .where(OAuthClientRecord.user_id == user.id)
            .values(user_id=None)
        )
        await s.execute(
            update(Credential).where(Credential.user_id == user.id).values(rotated_from_id=None)
        )
        await s.execute(delete(Credential).where(Credential.user_id == user.id))
        await s.execute(delete(User).where(User.id == user.id))
    rt.resolver.invalidate_principal(user.id)
    removal = UserRemoval(
        user.id, user.name, len(keys), len(clients), len(public_keys), len(certificates)
    )
    await rt.audit.emit(
        AuditRecord(
            "user.deleted",
            actor_id=actor.principal_id,
            actor=actor.subject,
            target_user_id=user.id,
            client_ip=client_ip,
            detail={k: v for k, v in removal.as_json().items() if k not in ("id", "status")},
        )
    )
    return removal
