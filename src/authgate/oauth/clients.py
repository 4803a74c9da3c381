"""Registered OAuth 2.0 clients: create (secret shown once), list, get, rotate, delete.

RFC 6749 §2 (client registration: types, identifiers, authentication), RFC 7591 §2 (client
metadata names), RFC 9700 §2.5 (client authentication). ``client_id`` is public and
random; a confidential client's secret (``acs_`` prefix, ~178 random bits, CRC32
checksum, see :mod:`authgate.crypto.keys`) is returned once and stored as an HMAC-SHA256
digest only: never bcrypt, because a slow hash of a random secret buys nothing and costs
the token endpoint its throughput (docs/oauth.md, Clients).

Ownership follows :class:`~authgate.accounts.keys.KeyService`: a member manages only
their own clients (another user's client answers 404), an admin manages all; a client
created from the CLI (the local operator) has no owner user. Every change is committed
before the call returns and drops the client from the :class:`ClientCache` at once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.lifecycle import CredentialView, Lifecycle, owned
from authgate.accounts.users import UserService, check_grant, find_owner, granted_scopes
from authgate.accounts.validation import normalize_scopes, validate_key_name
from authgate.audit import AuditSink
from authgate.crypto.digest import Digester
from authgate.crypto.keys import display_prefix, generate_key
from authgate.errors import Conflict, InvalidRequest, NotFound
from authgate.identity import Identity
from authgate.oauth.records import ClientCache, ClientRecord
from authgate.oauth.registration import (
    normalize_grants,
    validate_auth_method,
    validate_client_jwks,
    validate_redirect_uris,
)
from authgate.scopes import RESERVED_SCOPES
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_oauth import OAuthClientRecord
from authgate.timefmt import iso_utc
from authgate.tokens.changes import ChangeLog

__all__ = [
    "CLIENT_ID_PREFIX",
    "CLIENT_SECRET_PREFIX",
    "ClientCache",
    "ClientRecord",
    "ClientService",
    "ClientView",
    "IssuedClient",
]

CLIENT_ID_PREFIX = "agc_"
CLIENT_SECRET_PREFIX = "acs_"  # noqa: S105 - a prefix, not a secret
SECRET_DIGEST_PURPOSE = "oauth-client-secret"  # noqa: S105 - a digest domain label
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAX_CLIENT_ID = 64


def new_client_id() -> str:
    """A random public client identifier (``agc_`` + 24 base62 characters, ~143 bits)."""
    return CLIENT_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


@dataclass(frozen=True, slots=True)
class ClientView(CredentialView):
    """A client as listed: never the secret."""

    audit_fields: ClassVar[tuple[str, ...]] = ("client_id", "name", "grants")

    client_id: str
    public: bool
    token_endpoint_auth_method: str
    grants: list[str]
    redirect_uris: list[str]
    scopes: list[str]
    secret_prefix: str | None
    has_jwks: bool
    secret_rotated_at: datetime | None

    @classmethod
    def of(cls, row: OAuthClientRecord, user_name: str | None) -> ClientView:
        return cls.from_row(row, user_name, has_jwks=row.jwks is not None)

    def as_json(self) -> dict[str, Any]:
        """The contract keys first (``client_id``, ``grants``, ``redirect_uris``, ``scopes``)."""
        return {
            "client_id": self.client_id,
            "grants": self.grants,
            "redirect_uris": self.redirect_uris,
            "scopes": self.scopes,
            "name": self.name,
            "public": self.public,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "user": self.user,
            "secret_prefix": self.secret_prefix,
            "status": "deleted" if self.revoked_at is not None else "active",
            "created_at": iso_utc(self.created_at),
            "secret_rotated_at": iso_utc(self.secret_rotated_at),
        }


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A created client or a rotated secret: the only moment the secret exists in clear."""

    view: ClientView
    secret: str | None

    def as_json(self) -> dict[str, Any]:
        """The ``clients create`` contract shape, then the remaining attributes."""
        out: dict[str, Any] = {"client_id": self.view.client_id}
        if self.secret is not None:
            out["client_secret"] = self.secret
        rest = self.view.as_json()
        out.update(
            grants=rest.pop("grants"),
            redirect_uris=rest.pop("redirect_uris"),
            scopes=rest.pop("scopes"),
        )
        rest.pop("client_id")
        out.update(rest)
        return out

    def __repr__(self) -> str:
        return f"IssuedClient(client_id={self.view.client_id!r}, secret=***)"


class ClientService:
    """Client lifecycle with ownership rules, and the cached lookup the endpoints use."""

    def __init__(
        self,
        db: Database,
        digester: Digester,
        users: UserService,
        audit: AuditSink,
        *,
        cache: ClientCache | None = None,
        on_changed: Callable[[str], None] = lambda _client_id: None,
        changes: ChangeLog | None = None,
    ) -> None:
        self._db = db
        self.changes = changes if changes is not None else ChangeLog()
        self._digester = digester
        self._users = users
        self._life = Lifecycle(db, audit)
        self.cache = cache or ClientCache(ttl=0)
        self._changed = on_changed

    def secret_digest(self, secret: str) -> str:
        """The stored form of a client secret."""
        return self._digester.digest(secret, purpose=SECRET_DIGEST_PURPOSE)

    async def lookup(self, client_id: str) -> ClientRecord | None:
        """The active client ``client_id`` (cached), or None."""
        if not client_id or len(client_id) > _MAX_CLIENT_ID:
            return None
        hit = self.cache.get(client_id)
        if hit is not None:
            return hit
        async with self._db.session() as s:
            row = await s.scalar(
                select(OAuthClientRecord)
                .outerjoin(User, User.id == OAuthClientRecord.user_id)
                .where(
                    OAuthClientRecord.client_id == client_id,
                    OAuthClientRecord.revoked_at.is_(None),
                    # a disabled owner's clients get no tokens
                    or_(OAuthClientRecord.user_id.is_(None), User.disabled.is_(False)),
                )
            )
        if row is None:
            return None
        record = ClientRecord.of(row)
        self.cache.put(record)
        return record

    async def create(
        self,
        actor: Identity,
        name: str,
        *,
        grants: Sequence[str],
        redirect_uris: Sequence[str] = (),
        scopes: Sequence[str] = (),
        public: bool = False,
        token_endpoint_auth_method: str | None = None,
        jwks: dict[str, Any] | None = None,
        user: str | None = None,
        client_ip: str | None = None,
    ) -> IssuedClient:
        """Register a client; a confidential one with a secret method gets its secret.

        Raises:
            InvalidRequest: invalid metadata (see :mod:`authgate.oauth.registration`).
            InvalidScope: scopes the owner or the credential used does not hold.
            NotFound: ``user`` is unknown or not the caller's to name.
        """
        owner = await self._owner(actor, user)
        if owner is not None and owner.disabled:
            raise Conflict("the user is disabled")
        checked_jwks = validate_client_jwks(jwks) if jwks is not None else None
        method = validate_auth_method(
            token_endpoint_auth_method, public=public, has_jwks=checked_jwks is not None
        )
        grant_list = normalize_grants(grants, public=public)
        uris = validate_redirect_uris(list(redirect_uris))
        if "authorization_code" in grant_list and not uris:
            raise InvalidRequest("authorization_code needs at least one redirect URI")
        if owner is None:
            # the operator at the CLI (an admin credential) registering an unowned client:
            # no owner to take scopes from, so none unless named
            check_grant(actor, normalize_scopes(scopes))
            wanted = normalize_scopes(scopes)
        else:
            # The scope rule (docs/security.md, Scopes and admin power): within the owner's
            # and the creating credential's scopes;
            # by default the same, minus the reserved authgate:* scopes, which a client
            # carries only when they are named. A client without scopes is a sign-in
            # client (openid, profile only), never an unrestricted one.
            wanted = granted_scopes(
                actor,
                owner,
                scopes,
                what="client",
                defaults_exclude=RESERVED_SCOPES,
                allow_empty=True,
            )
        secret = generate_key(CLIENT_SECRET_PREFIX) if method.startswith("client_secret") else None
        row = OAuthClientRecord(
            id=uuid.uuid4().hex,
            client_id=new_client_id(),
            name=validate_key_name(name),
            public=public,
            secret_digest=self.secret_digest(secret) if secret else None,
            secret_prefix=display_prefix(secret) if secret else None,
            token_endpoint_auth_method=method,
            jwks=checked_jwks,
            grants=grant_list,
            redirect_uris=uris,
            scopes=wanted,
            user_id=owner.id if owner is not None else None,
            created_at=datetime.now(UTC),
            secret_rotated_at=None,
            revoked_at=None,
        )
        async with self._db.session() as s, s.begin():
            s.add(row)
        view = ClientView.of(row, owner.name if owner is not None else None)
        await self._life.emit("client.created", actor, view, client_ip)
        return IssuedClient(view, secret)

    async def list_clients(self, actor: Identity, *, user: str | None = None) -> list[ClientView]:
        """Active clients the caller may see (a member: their own)."""
        stmt = owned(OAuthClientRecord, outer=True).where(OAuthClientRecord.revoked_at.is_(None))
        rows = await self._life.listed(actor, user, OAuthClientRecord, stmt)
        return [ClientView.of(r, n) for r, n in rows]

    async def get(self, actor: Identity, client_id: str) -> ClientView:
        """One client. Raises NotFound when unknown, deleted or not the caller's."""
        row, user_name = await self._visible(actor, client_id)
        return ClientView.of(row, user_name)

    async def rotate_secret(
        self, actor: Identity, client_id: str, *, client_ip: str | None = None
    ) -> IssuedClient:
        """A new secret; the old one stops working at once (shown once, like at creation).

        Raises:
            NotFound: unknown, deleted or not the caller's.
            Conflict: the client authenticates without a secret.
            InvalidScope: the credential used does not hold all of the client's scopes.
        """
        row, user_name = await self._visible(actor, client_id)
        if not row.token_endpoint_auth_method.startswith("client_secret"):
            raise Conflict("this client has no secret")
        # the new secret opens the client's scopes: only a credential holding them all
        # (or an admin credential) may mint it
        check_grant(actor, list(row.scopes))
        secret = generate_key(CLIENT_SECRET_PREFIX)
        async with self._db.session() as s, s.begin():
            fresh = await _active(s, row.id)
            fresh.secret_digest = self.secret_digest(secret)
            fresh.secret_prefix = display_prefix(secret)
            fresh.secret_rotated_at = datetime.now(UTC)
            row = fresh
        self._drop(row.client_id)
        view = ClientView.of(row, user_name)
        await self._life.emit("client.secret_rotated", actor, view, client_ip)
        return IssuedClient(view, secret)

    async def delete(
        self, actor: Identity, client_id: str, *, client_ip: str | None = None
    ) -> ClientView:
        """Delete a client: it can no longer authenticate (its id is never reused)."""
        row, user_name = await self._visible(actor, client_id)
        async with self._db.session() as s, s.begin():
            fresh = await _active(s, row.id)
            fresh.revoked_at = datetime.now(UTC)
            row = fresh
            change = self.changes.stage(s, "client", row.client_id)  # its tokens stop too
        self._drop(row.client_id)
        self.changes.committed(change)
        view = ClientView.of(row, user_name)
        await self._life.emit("client.deleted", actor, view, client_ip)
        return view

    async def owned_by(self, user_id: str) -> list[str]:
        """The ``client_id`` of every active client ``user_id`` owns."""
        async with self._db.session() as s:
            rows = await s.scalars(
                select(OAuthClientRecord.client_id).where(
                    OAuthClientRecord.user_id == user_id, OAuthClientRecord.revoked_at.is_(None)
                )
            )
            return list(rows.all())

    def _drop(self, client_id: str) -> None:
        self.cache.invalidate(client_id)
        self._changed(client_id)

    async def _owner(self, actor: Identity, user: str | None) -> User | None:
        if user is None and actor.scheme == "local":
            return None  # the operator at the machine: an unowned client
        return await find_owner(self._db, actor, user)

    async def _visible(
        self, actor: Identity, client_id: str
    ) -> tuple[OAuthClientRecord, str | None]:
        if not client_id or len(client_id) > _MAX_CLIENT_ID:
            raise NotFound("no such client")
        stmt = owned(OAuthClientRecord, outer=True).where(
            OAuthClientRecord.client_id == client_id, OAuthClientRecord.revoked_at.is_(None)
        )
        found = await self._life.visible(actor, stmt, "no such client")
        return found[0], found[1]


async def _active(s: AsyncSession, id: str) -> OAuthClientRecord:
    """The client row ``id``, read again in ``s``, unless it was deleted meanwhile.

    Raises:
        NotFound: deleted (or gone) since it was looked up.
    """
    fresh = await s.get(OAuthClientRecord, id)
    if fresh is None or fresh.revoked_at is not None:
        raise NotFound("no such client")
    return fresh
