"""Users: humans and service accounts, with a role, scopes and an optional password."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from authgate.accounts.validation import ROLES, normalize_scopes, validate_user_name
from authgate.audit import AuditRecord, AuditSink
from authgate.crypto.passwords import PasswordHasher, PasswordPolicyError, validate_password
from authgate.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    InvalidRequest,
    InvalidScope,
    NotFound,
)
from authgate.identity import Identity
from authgate.scopes import ADMIN_SCOPE, user_scopes
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_oauth import OAuthClientRecord
from authgate.timefmt import iso_utc
from authgate.tokens.changes import ChangeLog

__all__ = [
    "ADMIN_SCOPE",
    "UserService",
    "UserView",
    "check_grant",
    "effective_scopes",
    "find_owner",
    "granted_scopes",
    "is_admin",
]


def is_admin(actor: Identity) -> bool:
    """Whether the caller may act as admin *with the credential it used*.

    Admin power needs both the ``admin`` role and the ``authgate:admin`` scope on the
    credential: a password login of an admin carries the scope, an admin's key carries
    it only when it was given it. A credential without scopes is never "everything".
    """
    return "admin" in actor.roles and ADMIN_SCOPE in actor.scopes


def effective_scopes(user: User) -> list[str]:
    """What a password login of ``user`` carries: their scopes (+ ``authgate:admin``)."""
    return normalize_scopes(user_scopes(user.role, user.scopes))


def check_grant(actor: Identity, wanted: Iterable[str]) -> None:
    """A credential never grants more than it holds (least privilege).

    An admin credential (role admin + ``authgate:admin``) grants what the owner may hold
    (checked by :func:`granted_scopes`); any other grants only scopes it carries itself,
    and never ``authgate:admin``.

    Raises:
        InvalidScope: the caller's credential does not hold every wanted scope.
    """
    if is_admin(actor):
        return
    wanted = set(wanted)
    if ADMIN_SCOPE in wanted:
        # holding the scope is not enough (a delegated token may carry it without the
        # role): only a credential with admin power gives admin power
        raise InvalidScope(f"only an admin credential grants {ADMIN_SCOPE}")
    extra = sorted(wanted - set(actor.scopes))
    if extra:
        raise InvalidScope(f"the credential used does not hold: {' '.join(extra)}")


class CurrentPasswordCheck(Protocol):
    """How a user proves they are themself before changing their own password: the
    login's check (:class:`~authgate.oauth.login.PasswordLogin`) — throttled with every
    other password login, bounded off-loop argon2, and the second factor when enrolled."""

    async def check(
        self, username: str, password: str, code: str | None, *, client_ip: str | None
    ) -> object | None: ...


def granted_scopes(
    actor: Identity,
    owner: User,
    wanted: Iterable[str] | None,
    *,
    what: str = "key",
    defaults_exclude: Iterable[str] = (),
    allow_empty: bool = False,
) -> list[str]:
    """The scopes a new credential of ``owner``, made with ``actor``'s credential, carries.

    Named scopes must be held by the owner (an admin owner may hold any, but
    ``authgate:admin`` only an admin) and by the creating credential (unless it is an
    admin credential). Without scopes (None or empty), the credential takes the owner's
    effective scopes, narrowed to the creating credential's when that is not an admin
    credential; ``defaults_exclude`` are never taken by default. The result is never
    empty unless the owner holds no scopes at all (a scopeless member's key carries
    none, and means none) or ``allow_empty``.

    Raises:
        InvalidScope: a scope the owner or the creating credential does not hold, or
            nothing left to carry.
    """
    named = normalize_scopes(wanted or [])
    if named:
        if ADMIN_SCOPE in named and owner.role != "admin":
            raise InvalidScope(f"{ADMIN_SCOPE} is only for admins")
        if owner.role != "admin":
            extra = sorted(set(named) - set(owner.scopes))
            if extra:
                raise InvalidScope(f"the owner does not hold: {' '.join(extra)}")
        check_grant(actor, named)
        return named
    excluded = set(defaults_exclude)
    if is_admin(actor):
        out = [s for s in effective_scopes(owner) if s not in excluded]
    else:
        # the creator's own scopes, as far as the owner may hold them
        allowed = None if owner.role == "admin" else set(owner.scopes)
        out = normalize_scopes(
            s
            for s in actor.scopes
            if s not in excluded
            and (allowed is None or s in allowed)
            and s != ADMIN_SCOPE  # only an admin credential grants admin power
        )
    if not out and not allow_empty and effective_scopes(owner):
        raise InvalidScope(
            f"the {what} would carry no scopes: the credential used holds none of the "
            "owner's; name the scopes"
        )
    return out


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    name: str
    role: str
    scopes: list[str]
    disabled: bool
    created_at: datetime
    has_password: bool

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(
            u.id, u.name, u.role, list(u.scopes), u.disabled, u.created_at, bool(u.password_hash)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "scopes": self.scopes,
            "disabled": self.disabled,
            "created_at": iso_utc(self.created_at),
            "has_password": self.has_password,
        }


async def find_owner(db: Database, actor: Identity, user: str | None) -> User:
    """The user ``actor`` acts for: the one named ``user``, or the actor itself.

    A member may act only for themself; anyone else answers exactly like a missing user
    (404, OWASP API1).

    Raises:
        NotFound: no such user, or another user's for a member.
    """
    async with db.session() as s:
        if user is None:
            owner = await s.get(User, actor.principal_id)
        else:
            owner = await s.scalar(select(User).where(User.name == user))
    if owner is None or (not is_admin(actor) and owner.id != actor.principal_id):
        raise NotFound("no such user")
    return owner


class UserService:
    """Create, list, disable users and set passwords (admin only, except own password)."""

    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher,
        audit: AuditSink,
        on_principal_changed: Callable[[str], None] = lambda _id: None,
        changes: ChangeLog | None = None,
    ) -> None:
        self._db = db
        self.changes = changes if changes is not None else ChangeLog()
        self._hasher = hasher
        self._audit = audit
        self._changed = on_principal_changed
        self.after_disable: Callable[[str], Awaitable[object]] | None = None
        self.after_password_change: Callable[[str], Awaitable[object]] | None = None
        # wired by the runtime once the login check exists; unset, no one changes their
        # own password (fail closed rather than check a password unthrottled)
        self.current_password_check: CurrentPasswordCheck | None = None

    async def create(
        self,
        actor: Identity,
        name: str,
        *,
        role: str = "member",
        password: str | None = None,
        scopes: list[str] | None = None,
        client_ip: str | None = None,
    ) -> UserView:
        if not is_admin(actor):
            raise Forbidden("only admins manage users")
        validate_user_name(name)
        if role not in ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
        password_hash = None
        if password is not None:
            try:
                validate_password(password)
            except PasswordPolicyError as exc:
                raise InvalidRequest(str(exc)) from exc
            # argon2 (~70 ms, 32 MiB) in a worker thread: the event loop serves others
            password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now = datetime.now(UTC)
        user = User(
            id=uuid.uuid4().hex,
            name=name,
            role=role,
            scopes=normalize_scopes(scopes or []),
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            password_changed_at=now if password_hash else None,
            generation=0,
        )
        try:
            async with self._db.session() as s, s.begin():
                s.add(user)
        except IntegrityError as exc:
            raise Conflict(f"a user named {name!r} already exists") from exc
        await self._record("user.created", actor, user.id, client_ip, {"name": name, "role": role})
        return UserView.of(user)

    async def list_users(self, actor: Identity) -> list[UserView]:
        async with self._db.session() as s:
            stmt = select(User).order_by(User.created_at, User.name)
            if not is_admin(actor):
                stmt = stmt.where(User.id == actor.principal_id)
            return [UserView.of(u) for u in (await s.scalars(stmt)).all()]

    async def get(self, actor: Identity, name: str) -> UserView:
        return UserView.of(await self._visible(actor, name))

    async def find(self, name: str) -> User | None:
        async with self._db.session() as s:
            return await s.scalar(select(User).where(User.name == name))

    async def disable(
        self, actor: Identity, name: str, *, client_ip: str | None = None
    ) -> UserView:
        if not is_admin(actor):
            raise NotFound("no such user") if actor.subject != name else Forbidden()
        user = await self._require(name)
        if user.id == actor.principal_id:
            raise InvalidRequest("an admin cannot disable their own account")
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(User)
                .where(User.id == user.id)
                .values(disabled=True, generation=User.generation + 1)
            )
            # every token naming the user, and every token of the clients they own, stops
            staged = [self.changes.stage(s, "user", user.id)]
            owned = await s.scalars(
                select(OAuthClientRecord.client_id).where(
                    OAuthClientRecord.user_id == user.id, OAuthClientRecord.revoked_at.is_(None)
                )
            )
            staged += [self.changes.stage(s, "client", c) for c in owned.all()]
        self._changed(user.id)
        self.changes.committed(*staged)
        await self._record("user.disabled", actor, user.id, client_ip, {"name": name})
        if self.after_disable is not None:
            await self.after_disable(user.id)  # e.g. revoke the tokens issued to the user
        user.disabled = True
        return UserView.of(user)

    async def enable(self, actor: Identity, name: str, *, client_ip: str | None = None) -> UserView:
        """Enable a disabled user: their keys work again (tokens revoked at disable stay
        revoked)."""
        if not is_admin(actor):
            raise NotFound("no such user") if actor.subject != name else Forbidden()
        user = await self._require(name)
        if user.disabled:
            async with self._db.session() as s, s.begin():
                await s.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(disabled=False, generation=User.generation + 1)
                )
            self._changed(user.id)
            await self._record("user.enabled", actor, user.id, client_ip, {"name": name})
            user.disabled = False
        return UserView.of(user)

    async def set_password(
        self,
        actor: Identity,
        name: str,
        password: str,
        *,
        current_password: str | None = None,
        code: str | None = None,
        client_ip: str | None = None,
    ) -> None:
        """Set a password: an admin for anyone, a user for themself with the current one.

        Requiring the current password means a stolen or narrowly scoped key cannot be
        turned into a password login that carries all of the user's scopes. It is checked
        as a login (:class:`CurrentPasswordCheck`): wrong guesses count in the login
        throttle shared with Basic and the login page (so this is no unthrottled password
        oracle), argon2 runs in the same bounded worker pool, and a user with a second
        factor also needs a current TOTP or recovery ``code`` — the password alone is
        never enough.
        """
        user = await self._visible(actor, name)
        if user.id == actor.principal_id and actor.scheme != "local":
            check = self.current_password_check
            ok = (
                check is not None
                and bool(user.password_hash)
                and current_password is not None
                and await check.check(user.name, current_password, code, client_ip=client_ip)
                is not None
            )
            if not ok:
                raise InvalidCredentials(
                    "The current password is required and must be right (with a current "
                    "TOTP or recovery code in 'code' when the account has a second factor); "
                    "a first password is set by an admin."
                )
        try:
            validate_password(password)
        except PasswordPolicyError as exc:
            raise InvalidRequest(str(exc)) from exc
        password_hash = await asyncio.to_thread(self._hasher.hash, password)  # off the loop
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(User)
                .where(User.id == user.id)
                .values(
                    password_hash=password_hash,
                    password_changed_at=datetime.now(UTC),
                    generation=User.generation + 1,
                )
            )
        self._changed(user.id)
        await self._record("user.password_changed", actor, user.id, client_ip)
        if self.after_password_change is not None:
            await self.after_password_change(user.id)  # e.g. end the user's browser sessions

    async def _record(
        self,
        event: str,
        actor: Identity,
        user_id: str,
        client_ip: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._audit.emit(
            AuditRecord(
                event,
                actor_id=actor.principal_id,
                actor=actor.subject,
                target_user_id=user_id,
                client_ip=client_ip,
                detail=detail or {},
            )
        )

    async def _require(self, name: str) -> User:
        user = await self.find(name)
        if user is None:
            raise NotFound("no such user")
        return user

    async def _visible(self, actor: Identity, name: str) -> User:
        user = await self.find(name)
        # a member asking about anyone else gets the same answer as for a missing user
        if user is None or (not is_admin(actor) and user.id != actor.principal_id):
            raise NotFound("no such user")
        return user
