"""The life cycle every stored credential shares: who sees whose, list, revoke, audit, view.

API keys and key pairs (:mod:`authgate.accounts.keys`), public keys and client
certificates (:mod:`authgate.accounts.pki`) and OAuth clients
(:mod:`authgate.oauth.clients`) are rows with an owner (``user_id``), a creation time
and a revocation time. Their services differ in what they create; the rules below are
one for all of them:

* **Ownership** (OWASP API1): an admin credential sees and manages everyone's, any
  other only its own user's; another user's row answers exactly like a missing one (404).
* **Listing**: oldest first; ``user`` names whose (a member may name only themself),
  none means the caller's (everyone's for an admin).
* **Revocation** is idempotent, committed before the call returns, and its change-log
  row (when it has one) is written in the same transaction as ``revoked_at``.
* **Audit**: one ``credential_change`` record, its detail said by the view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.users import find_owner, is_admin
from authgate.audit import AuditRecord, AuditSink
from authgate.errors import NotFound
from authgate.identity import Identity
from authgate.store.db import Database
from authgate.store.models import Credential, User
from authgate.store.models_oauth import OAuthClientRecord
from authgate.store.models_pki import ClientCertificate, PublicKey

__all__ = ["CredentialView", "Lifecycle", "may_see", "owned", "status"]

Staged = TypeVar("Staged")
Owned = TypeVar("Owned", Credential, PublicKey, ClientCertificate, OAuthClientRecord)


def may_see(actor: Identity, owner_id: str | None) -> bool:
    """Whether ``actor`` may see (and manage) a row of ``owner_id``'s: an admin credential
    any, any other only its own user's (an unowned row: admins only)."""
    return is_admin(actor) or owner_id == actor.principal_id


def owned(model: type[Owned], *owner_columns: Any, outer: bool = False) -> Select[Any]:
    """``select(model, <owner columns>)`` joined to the owner (``User.name`` by default);
    ``outer`` for rows that may have no owner."""
    stmt = select(model, *(owner_columns or (User.name,)))
    on = User.id == model.user_id
    return stmt.outerjoin(User, on) if outer else stmt.join(User, on)


def status(revoked_at: datetime | None, expires_at: datetime | None, now: datetime | None) -> str:
    """``revoked``, ``expired`` (at ``expires_at``) or ``active``."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


@dataclass(frozen=True, slots=True)
class CredentialView:
    """Base of the public representations (never a secret): built from a row and its
    owner's name, audited with the detail the subclass names.

    A subclass is a frozen dataclass whose fields are the row's attributes of the same
    name (lists copied), plus ``user`` (the owner's name) and what :meth:`from_row` is
    given.

    Attributes:
        id: the row's id (the credential id of audit records).
        name: its label.
        user_id: the owner's user id (None: an unowned OAuth client).
        user: the owner's name.
        created_at: when it was created.
        revoked_at: when it was revoked (deleted, for a client), if it was.
    """

    id: str
    name: str
    user_id: str | None
    user: str | None
    created_at: datetime
    revoked_at: datetime | None
    audit_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_row(cls, row: Any, user_name: str | None, **computed: Any) -> Self:
        """The view of ``row``; ``computed`` gives the fields the row has no attribute for."""
        values = dict(computed, user=user_name)
        for field in dataclasses.fields(cls):
            if field.name not in values:
                value = getattr(row, field.name)
                values[field.name] = list(value) if isinstance(value, list) else value
        return cls(**values)

    def as_json(self) -> dict[str, Any]:
        """The public representation (the HTTP and ``--json`` shape)."""
        raise NotImplementedError

    def audit(
        self, event: str, actor: Identity, client_ip: str | None, **detail: Any
    ) -> AuditRecord:
        """The audit record of ``event`` done to this credential by ``actor`` (the
        view's ``audit_fields``, then ``detail``)."""
        return AuditRecord.credential_change(
            event,
            actor,
            user_id=self.user_id,
            credential_id=self.id,
            client_ip=client_ip,
            detail={**{name: getattr(self, name) for name in self.audit_fields}, **detail},
        )


class Lifecycle:
    """The steps the credential services share, over one database and audit sink."""

    def __init__(self, db: Database, audit: AuditSink) -> None:
        self._db = db
        self._audit = audit

    async def visible(self, actor: Identity, stmt: Select[Any], not_found: str) -> Any:
        """The one row ``stmt`` (see :func:`owned`) finds, if ``actor`` may see it.

        Raises:
            NotFound: none, or another user's for a member (the same answer).
        """
        async with self._db.session() as s:
            row = (await s.execute(stmt)).first()
        if row is None or not may_see(actor, row[0].user_id):
            raise NotFound(not_found)
        return row

    async def listed(
        self, actor: Identity, user: str | None, model: type[Owned], stmt: Select[Any]
    ) -> list[Any]:
        """The rows of ``stmt`` (see :func:`owned`) ``actor`` may see, oldest first.

        Raises:
            NotFound: ``user`` is unknown, or not the caller for a member.
        """
        if user is not None:
            stmt = stmt.where(model.user_id == (await find_owner(self._db, actor, user)).id)
        elif not is_admin(actor):
            stmt = stmt.where(model.user_id == actor.principal_id)
        async with self._db.session() as s:
            return list((await s.execute(stmt.order_by(model.created_at, model.id))).all())

    async def mark_revoked(
        self,
        model: type[Owned],
        id: str,
        at: datetime,
        stage: Callable[[AsyncSession], Staged],
    ) -> Staged:
        """Set ``revoked_at`` (once: a revoked row keeps its time) and, in the same
        transaction, the change ``stage`` adds (e.g. the change-log row)."""
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(model)
                .where(model.id == id, model.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            return stage(s)

    async def emit(
        self,
        event: str,
        actor: Identity,
        view: CredentialView,
        client_ip: str | None,
        **detail: Any,
    ) -> None:
        """Audit ``event`` on ``view``'s credential (see :meth:`CredentialView.audit`)."""
        await self._audit.emit(view.audit(event, actor, client_ip, **detail))
