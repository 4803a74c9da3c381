"""API keys and key pairs: create (shown once), list, get, revoke, rotate with grace.

Every change is committed before the call returns (durable before the response) and
drops the credential from this instance's cache at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from sqlalchemy import update

from authgate.accounts.lifecycle import CredentialView, Lifecycle, owned, status
from authgate.accounts.users import UserService, check_grant, find_owner, granted_scopes
from authgate.accounts.validation import validate_key_name
from authgate.audit import AuditSink
from authgate.crypto.digest import Digester
from authgate.crypto.keys import (
    API_KEY_PREFIX,
    KEY_PAIR_KEY_PREFIX,
    KEY_PAIR_SECRET_PREFIX,
    display_prefix,
    generate_key,
)
from authgate.crypto.sealing import MasterKeyRing
from authgate.errors import Conflict, InvalidRequest
from authgate.identity import Identity
from authgate.store.db import Database
from authgate.store.models import Credential, User
from authgate.timefmt import iso_utc
from authgate.tokens.changes import ChangeLog

__all__ = ["KEY_TYPES", "SESSION_TOKEN_PREFIX", "IssuedKey", "KeyService", "KeyView"]

SESSION_TOKEN_PREFIX = "agt_"  # noqa: S105 - a prefix, not a secret

KeyType = Literal["api-key", "key-pair"]
KEY_TYPES: tuple[KeyType, ...] = ("api-key", "key-pair")


@dataclass(frozen=True, slots=True)
class KeyView(CredentialView):
    """A credential as listed: never the key or the secret."""

    audit_fields: ClassVar[tuple[str, ...]] = ("type", "prefix", "name")

    type: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    rotated_from: str | None
    user_disabled: bool = False

    @classmethod
    def of(cls, c: Credential, user_name: str, user_disabled: bool = False) -> KeyView:
        return cls.from_row(
            c, user_name, rotated_from=c.rotated_from_id, user_disabled=user_disabled
        )

    def status(self, now: datetime | None = None) -> str:
        state = status(self.revoked_at, self.expires_at, now)
        if state == "active" and self.user_disabled:
            return "disabled"  # works again when the user is enabled
        return state

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "prefix": self.prefix,
            "name": self.name,
            "user": self.user,
            "scopes": self.scopes,
            "status": self.status(),
            "created_at": iso_utc(self.created_at),
            "expires_at": iso_utc(self.expires_at),
            "revoked_at": iso_utc(self.revoked_at),
            "last_used_at": iso_utc(self.last_used_at),
            "rotated_from": self.rotated_from,
        }


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A newly created credential: the only moment the key (and secret) exist in clear."""

    view: KeyView
    key: str
    secret: str | None
    session_token: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``keys create`` contract shape (plus ``session_token`` for temporary ones)."""
        out: dict[str, Any] = {
            "id": self.view.id,
            "type": self.view.type,
            "key": self.key,
        }
        if self.secret is not None:
            out["secret"] = self.secret
        if self.session_token is not None:
            out["session_token"] = self.session_token
        out.update(
            prefix=self.view.prefix,
            name=self.view.name,
            scopes=self.view.scopes,
            expires_at=iso_utc(self.view.expires_at),
        )
        return out

    def __repr__(self) -> str:
        return f"IssuedKey(id={self.view.id!r}, prefix={self.view.prefix!r}, key=***)"


class KeyService:
    """Credential lifecycle with ownership rules: members manage only their own keys."""

    def __init__(
        self,
        db: Database,
        digester: Digester,
        master_keys: MasterKeyRing,
        users: UserService,
        audit: AuditSink,
        *,
        max_lifetime: timedelta | None = None,
        on_credential_changed: Callable[[str], None] = lambda _id: None,
        changes: ChangeLog | None = None,
    ) -> None:
        self._db = db
        self._life = Lifecycle(db, audit)
        self.changes = changes if changes is not None else ChangeLog()
        self._digester = digester
        self._ring = master_keys
        self._users = users
        self._max_lifetime = max_lifetime
        self._changed = on_credential_changed
        # awaited after a key is revoked (e.g. to revoke the tokens issued for it)
        self.after_revoke: Callable[[str], Awaitable[object]] | None = None

    async def create(
        self,
        actor: Identity,
        *,
        user: str | None = None,
        name: str | None = None,
        scopes: list[str] | None = None,
        expires_in: timedelta | None = None,
        type: str = "api-key",
        client_ip: str | None = None,
    ) -> IssuedKey:
        owner = await self._owner(actor, user)
        if type not in KEY_TYPES:
            raise InvalidRequest(f"type must be one of {', '.join(KEY_TYPES)}")
        if owner.disabled:
            raise Conflict("the user is disabled")
        wanted = granted_scopes(actor, owner, scopes)
        expires_at = _not_after(self._expiry(expires_in), actor)
        cred, key, secret = self._new_credential(
            owner.id, type, validate_key_name(name) if name else "default", wanted, expires_at
        )
        async with self._db.session() as s, s.begin():
            s.add(cred)
        view = KeyView.of(cred, owner.name)
        await self._life.emit("key.created", actor, view, client_ip)
        return IssuedKey(view, key, secret)

    async def create_session(
        self,
        actor: Identity,
        *,
        user: str | None = None,
        scopes: list[str] | None = None,
        duration: timedelta = timedelta(hours=1),
        client_ip: str | None = None,
    ) -> IssuedKey:
        """Temporary SigV4 credentials: access key, secret and session token, short-lived.

        Like AWS STS ``GetSessionToken``: usable only with the session token, only for
        SigV4, for 15 minutes to 12 hours.
        """
        if not timedelta(minutes=15) <= duration <= timedelta(hours=12):
            raise InvalidRequest("duration must be between 15m and 12h")
        owner = await self._owner(actor, user)
        if owner.disabled:
            raise Conflict("the user is disabled")
        wanted = granted_scopes(actor, owner, scopes, what="temporary credential")
        cred, key, secret = self._new_credential(
            owner.id,
            "session",
            "temporary",
            wanted,
            _not_after(datetime.now(UTC) + duration, actor),
        )
        async with self._db.session() as s, s.begin():
            s.add(cred)
        view = KeyView.of(cred, owner.name)
        await self._life.emit("key.session_issued", actor, view, client_ip)
        return IssuedKey(view, key, secret, session_token=self.session_token(cred.id, key))

    def session_token(self, credential_id: str, key: str) -> str:
        """The session token bound to a temporary credential (derived, never stored)."""
        return SESSION_TOKEN_PREFIX + self._digester.digest(
            f"{credential_id}:{key}", purpose="session-token"
        )

    async def list_keys(self, actor: Identity, *, user: str | None = None) -> list[KeyView]:
        stmt = owned(Credential, User.name, User.disabled)
        rows = await self._life.listed(actor, user, Credential, stmt)
        return [KeyView.of(c, n, bool(d)) for c, n, d in rows]

    async def get(self, actor: Identity, key_id: str) -> KeyView:
        cred, user_name = await self._visible(actor, key_id)
        owner = await self._users.find(user_name)
        return KeyView.of(cred, user_name, owner is not None and owner.disabled)

    async def revoke(
        self, actor: Identity, key_id: str, *, client_ip: str | None = None
    ) -> KeyView:
        cred, user_name = await self._visible(actor, key_id)
        if cred.revoked_at is None:
            cred.revoked_at = datetime.now(UTC)
            change = await self._life.mark_revoked(
                Credential,
                cred.id,
                cred.revoked_at,
                lambda s: self.changes.stage(s, "credential", cred.id),
            )
            self._changed(cred.id)
            self.changes.committed(change)
            await self._life.emit("key.revoked", actor, KeyView.of(cred, user_name), client_ip)
        # Also when already revoked: if denying its tokens failed last time (shared
        # deny-list unreachable), a retry of the revocation finishes the job.
        if self.after_revoke is not None:
            await self.after_revoke(cred.id)
        return KeyView.of(cred, user_name)

    async def rotate(
        self,
        actor: Identity,
        key_id: str,
        *,
        grace: timedelta = timedelta(0),
        client_ip: str | None = None,
    ) -> IssuedKey:
        """A new credential like ``key_id``; the old one lives on for ``grace``."""
        if grace < timedelta(0) or grace > timedelta(days=30):
            raise InvalidRequest("grace must be between 0 and 30d")
        old, user_name = await self._visible(actor, key_id)
        now = datetime.now(UTC)
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise Conflict("only an active key can be rotated")
        if old.type == "session":
            raise Conflict("temporary credentials cannot be rotated: issue new ones")
        owner = await self._users.find(user_name)
        if owner is None or owner.disabled:
            raise Conflict("the user is disabled")
        # the new key carries the old one's scopes: the rotating credential must hold
        # them (rotation never launders a key into a wider or longer-lived one)
        check_grant(actor, list(old.scopes))
        lifetime = old.expires_at - old.created_at if old.expires_at else None
        new, key, secret = self._new_credential(
            old.user_id,
            old.type,
            old.name,
            list(old.scopes),
            _not_after(now + lifetime if lifetime else None, actor),
        )
        new.rotated_from_id = old.id
        old_end = now + grace
        async with self._db.session() as s, s.begin():
            s.add(new)
            if grace == timedelta(0):
                values: dict[str, Any] = {"revoked_at": now}
                ends = now
            else:
                ends = min(old.expires_at, old_end) if old.expires_at else old_end
                values = {"expires_at": ends}
            await s.execute(update(Credential).where(Credential.id == old.id).values(**values))
            # its access tokens stop when the old key does, whatever their exp
            change = self.changes.stage(s, "credential", old.id, ends.timestamp())
        self._changed(old.id)
        self.changes.committed(change)
        view = KeyView.of(new, user_name)
        await self._life.emit(
            "key.rotated",
            actor,
            view,
            client_ip,
            rotated_from=old.id,
            grace_seconds=int(grace.total_seconds()),
        )
        if grace == timedelta(0) and self.after_revoke is not None:
            await self.after_revoke(old.id)
        return IssuedKey(view, key, secret)

    # -- helpers -----------------------------------------------------------------------

    def _new_credential(
        self,
        user_id: str,
        type: str,
        name: str,
        scopes: list[str],
        expires_at: datetime | None,
    ) -> tuple[Credential, str, str | None]:
        cred_id = uuid.uuid4().hex
        if type == "api-key":
            key, secret, sealed = generate_key(API_KEY_PREFIX), None, None
        else:
            key, secret = generate_key(KEY_PAIR_KEY_PREFIX), generate_key(KEY_PAIR_SECRET_PREFIX)
            sealed = self._ring.seal(secret, aad=cred_id)
        cred = Credential(
            id=cred_id,
            user_id=user_id,
            type=type,
            name=name,
            prefix=display_prefix(key),
            key_digest=self._digester.digest(key),
            secret_sealed=sealed,
            scopes=scopes,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
            rotated_from_id=None,
        )
        return cred, key, secret

    def _expiry(self, expires_in: timedelta | None) -> datetime | None:
        if expires_in is None:
            if self._max_lifetime is not None:
                return datetime.now(UTC) + self._max_lifetime
            return None
        if expires_in <= timedelta(0):
            raise InvalidRequest("expires_in must be positive")
        if self._max_lifetime is not None and expires_in > self._max_lifetime:
            raise InvalidRequest("expires_in exceeds the configured maximum key lifetime")
        if expires_in > timedelta(days=3650):
            raise InvalidRequest("expires_in must be at most 3650d")
        return datetime.now(UTC) + expires_in

    async def _owner(self, actor: Identity, user: str | None) -> User:
        return await find_owner(self._db, actor, user)

    async def _visible(self, actor: Identity, key_id: str) -> tuple[Credential, str]:
        stmt = owned(Credential).where(Credential.id == key_id)
        cred, user_name = await self._life.visible(actor, stmt, "no such key")
        return cred, user_name


def _not_after(expires_at: datetime | None, actor: Identity) -> datetime | None:
    """A key made with a credential never outlives that credential."""
    if actor.expires_at is None:
        return expires_at
    limit = datetime.fromtimestamp(actor.expires_at, UTC)
    return limit if expires_at is None else min(expires_at, limit)
