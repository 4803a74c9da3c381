"""Registered public keys and client certificates: add, list, revoke.

Ownership follows :class:`~authgate.accounts.keys.KeyService`: an admin manages
everyone's, a member only their own, and another user's entry answers exactly like a
missing one (OWASP API1). Every change is committed before the call returns, audited,
and announced through ``on_changed`` so resolvers drop what they cached.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy.exc import IntegrityError

from authgate.accounts.lifecycle import CredentialView, Lifecycle, owned, status
from authgate.accounts.users import UserService, check_grant, effective_scopes, find_owner
from authgate.accounts.validation import validate_key_name
from authgate.audit import AuditSink
from authgate.errors import Conflict
from authgate.identity import Identity
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_pki import ClientCertificate, PublicKey
from authgate.timefmt import iso_utc

from ._validation import certificate_facts, validate_key_id, validate_public_key

__all__ = ["CertificateView", "PkiService", "PublicKeyView"]


@dataclass(frozen=True, slots=True)
class PublicKeyView(CredentialView):
    """A registered public key as listed (public material only)."""

    audit_fields: ClassVar[tuple[str, ...]] = ("key_id", "algorithm", "name")
    event_kind: ClassVar[str] = "public_key"

    key_id: str
    algorithm: str
    public_key_pem: str

    @classmethod
    def of(cls, k: PublicKey, user_name: str) -> PublicKeyView:
        return cls.from_row(k, user_name)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "name": self.name,
            "user": self.user,
            "status": status(self.revoked_at, None, None),
            "public_key_pem": self.public_key_pem,
            "created_at": iso_utc(self.created_at),
            "revoked_at": iso_utc(self.revoked_at),
        }


@dataclass(frozen=True, slots=True)
class CertificateView(CredentialView):
    """A registered client certificate as listed."""

    audit_fields: ClassVar[tuple[str, ...]] = ("thumbprint_sha256", "subject", "name")
    event_kind: ClassVar[str] = "certificate"

    thumbprint_sha256: str
    subject: str
    san: list[str]
    not_before: datetime
    not_after: datetime

    @classmethod
    def of(cls, c: ClientCertificate, user_name: str) -> CertificateView:
        return cls.from_row(c, user_name)

    def status(self, now: datetime | None = None) -> str:
        return status(self.revoked_at, self.not_after, now)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "thumbprint_sha256": self.thumbprint_sha256,
            "subject": self.subject,
            "san": self.san,
            "name": self.name,
            "user": self.user,
            "status": self.status(),
            "not_before": iso_utc(self.not_before),
            "not_after": iso_utc(self.not_after),
            "created_at": iso_utc(self.created_at),
            "revoked_at": iso_utc(self.revoked_at),
        }


_M = TypeVar("_M", PublicKey, ClientCertificate)
_V = TypeVar("_V", PublicKeyView, CertificateView)


class PkiService:
    """Lifecycle of public keys and client certificates, with ownership rules."""

    def __init__(
        self,
        db: Database,
        users: UserService,
        audit: AuditSink,
        *,
        on_changed: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._users = users
        self._life = Lifecycle(db, audit)
        self._changed = on_changed
        self._now = clock

    # -- public keys --------------------------------------------------------------------

    async def add_public_key(
        self,
        actor: Identity,
        *,
        key_id: str,
        algorithm: str,
        public_key_pem: str | bytes,
        user: str | None = None,
        name: str | None = None,
        client_ip: str | None = None,
    ) -> PublicKeyView:
        """Register a public key under ``key_id``, pinned to ``algorithm``.

        Raises:
            NotFound: no such user, or another user's for a member.
            InvalidRequest: a malformed key id, name or key (see ``validate_public_key``).
            Conflict: the user is disabled, or ``key_id`` is taken (revoked keys included).
        """
        owner = await self._owner(actor, user)
        row = self._new(
            PublicKey,
            owner,
            name,
            key_id=validate_key_id(key_id),
            algorithm=algorithm,
            public_key_pem=validate_public_key(public_key_pem, algorithm),
        )
        taken = "a public key with this key id is already registered"
        return await self._add(actor, owner, PublicKeyView, row, taken, client_ip)

    async def list_public_keys(
        self, actor: Identity, *, user: str | None = None
    ) -> list[PublicKeyView]:
        return await self._listed(actor, user, PublicKey, PublicKeyView)

    async def revoke_public_key(
        self, actor: Identity, id: str, *, client_ip: str | None = None
    ) -> PublicKeyView:
        return await self._revoke(actor, id, PublicKey, PublicKeyView, client_ip)

    # -- certificates -------------------------------------------------------------------

    async def add_certificate(
        self,
        actor: Identity,
        certificate: str | bytes,
        *,
        user: str | None = None,
        name: str | None = None,
        client_ip: str | None = None,
    ) -> CertificateView:
        """Register a client certificate (PEM or DER), matched later by its thumbprint.

        Raises:
            NotFound: no such user, or another user's for a member.
            InvalidRequest: not one certificate, a private key included, expired, weak key.
            Conflict: the user is disabled, or the certificate is already registered.
        """
        owner = await self._owner(actor, user)
        data = (
            certificate.encode("utf-8", "replace") if isinstance(certificate, str) else certificate
        )
        facts = certificate_facts(data, now=self._now())
        row = self._new(
            ClientCertificate,
            owner,
            name,
            thumbprint_sha256=facts.thumbprint_sha256,
            subject=facts.subject,
            san=facts.san,
            not_before=facts.not_before,
            not_after=facts.not_after,
        )
        taken = "this certificate is already registered"
        return await self._add(actor, owner, CertificateView, row, taken, client_ip)

    async def list_certificates(
        self, actor: Identity, *, user: str | None = None
    ) -> list[CertificateView]:
        return await self._listed(actor, user, ClientCertificate, CertificateView)

    async def revoke_certificate(
        self, actor: Identity, id: str, *, client_ip: str | None = None
    ) -> CertificateView:
        return await self._revoke(actor, id, ClientCertificate, CertificateView, client_ip)

    # -- helpers ------------------------------------------------------------------------

    def _new(self, model: type[_M], owner: User, name: str | None, **fields: Any) -> _M:
        """A new, unsaved row of ``owner``'s, named ``name`` (else "default")."""
        return model(
            id=uuid.uuid4().hex,
            user_id=owner.id,
            **fields,
            name=validate_key_name(name) if name else "default",
            created_at=self._now(),
            revoked_at=None,
        )

    async def _add(
        self,
        actor: Identity,
        owner: User,
        view_type: type[_V],
        row: _M,
        taken: str,
        client_ip: str | None,
    ) -> _V:
        """Save ``row`` (``taken``: the conflict's message), audit and return its view."""
        try:
            async with self._db.session() as s, s.begin():
                s.add(row)
        except IntegrityError as exc:
            raise Conflict(taken) from exc
        self._changed()  # a lookup that missed before may be cached as unknown
        view = view_type.from_row(row, owner.name)
        await self._life.emit(f"{view_type.event_kind}.added", actor, view, client_ip)
        return view

    async def _listed(
        self, actor: Identity, user: str | None, model: type[_M], view_type: type[_V]
    ) -> list[_V]:
        rows = await self._life.listed(actor, user, model, owned(model))
        return [view_type.from_row(row, user_name) for row, user_name in rows]

    async def _revoke(
        self,
        actor: Identity,
        id: str,
        model: type[_M],
        view_type: type[_V],
        client_ip: str | None,
    ) -> _V:
        """Revoke one row the actor may see (once: a revoked row answers as it is).

        Another user's row answers exactly like a missing one (404).
        """
        not_found = f"no such {view_type.event_kind.replace('_', ' ')}"
        stmt = owned(model).where(model.id == id)
        item, user_name = await self._life.visible(actor, stmt, not_found)
        if item.revoked_at is not None:
            return view_type.from_row(item, user_name)
        item.revoked_at = self._now()
        await self._life.mark_revoked(model, item.id, item.revoked_at, lambda _s: None)
        self._changed()
        view = view_type.from_row(item, user_name)
        await self._life.emit(f"{view_type.event_kind}.revoked", actor, view, client_ip)
        return view

    async def _owner(self, actor: Identity, user: str | None) -> User:
        """The owner of a new key or certificate, if ``actor`` may give them one.

        A registered key or certificate carries all of its owner's effective scopes
        (``authgate:admin`` included, for an admin), so only a credential holding all
        of them, or an admin credential, may register one: a narrowly scoped key must
        not turn into a full-power credential (docs/security.md: a credential never yields
        one with more power than itself).
        """
        owner = await find_owner(self._db, actor, user)
        if owner.disabled:
            raise Conflict("the user is disabled")
        check_grant(actor, effective_scopes(owner))
        return owner
