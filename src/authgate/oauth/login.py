"""Browser login for ``/oauth/authorize``: password, then TOTP when enrolled; sessions.

ASVS 5.0 V6 (password then a second factor when enrolled; failures counted per account
and per IP with the same generic answer whatever failed — unknown user, wrong password,
missing or wrong code — so the form reveals neither accounts nor enrolment), V7 (a new
session token at login, stored as a keyed digest, revoked at logout, absolute lifetime).
OIDC Core §2 (``auth_time``, ``amr``: ``pwd``, plus ``otp`` when a TOTP or recovery code
was used; RFC 8176 §2 values).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update

from authgate.accounts.resolver import StoreResolver
from authgate.crypto.digest import Digester
from authgate.crypto.keys import generate_key, is_well_formed
from authgate.mfa.service import MfaService
from authgate.mfa.throttle import LoginThrottle
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_authz import LoginSessionRecord
from authgate.timefmt import utc_datetime

__all__ = ["LOGIN_SESSION_PREFIX", "LoginSession", "LoginSessions", "PasswordLogin"]

LOGIN_SESSION_PREFIX = "agl_"
_PURPOSE = "login-session"


@dataclass(frozen=True, slots=True)
class LoginSession:
    """A signed-in browser: who, since when, how (RFC 8176 ``amr`` values)."""

    id: str
    user_id: str
    username: str
    auth_time: float
    amr: tuple[str, ...]


class LoginSessions:
    """Browser sessions: created at login, looked up per request, revoked at logout.

    Args:
        db: the database.
        digester: keyed digests of session tokens.
        lifetime: absolute lifetime of a session, seconds.
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        digester: Digester,
        *,
        lifetime: float = 8 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._digester = digester
        self.lifetime = lifetime
        self._clock = clock

    def _digest(self, token: str) -> str:
        return self._digester.digest(token, purpose=_PURPOSE)

    async def create(self, user_id: str, *, auth_time: float, amr: Sequence[str]) -> str:
        """A new session token (the cookie value), its digest committed."""
        token = generate_key(LOGIN_SESSION_PREFIX)
        now = self._clock()
        async with self._db.session() as s, s.begin():
            s.add(
                LoginSessionRecord(
                    id=uuid.uuid4().hex,
                    digest=self._digest(token),
                    user_id=user_id,
                    auth_time=utc_datetime(auth_time),
                    amr=list(amr),
                    created_at=utc_datetime(now),
                    expires_at=utc_datetime(now + self.lifetime),
                    revoked_at=None,
                )
            )
        return token

    async def lookup(self, token: str | None) -> LoginSession | None:
        """The live session of ``token``: not revoked, not expired, user not disabled."""
        if token is None or not is_well_formed(token, LOGIN_SESSION_PREFIX):
            return None
        async with self._db.session() as s:
            row = (
                await s.execute(
                    select(LoginSessionRecord, User)
                    .join(User, User.id == LoginSessionRecord.user_id)
                    .where(LoginSessionRecord.digest == self._digest(token))
                )
            ).first()
        if row is None:
            return None
        record, user = row
        if (
            record.revoked_at is not None
            or self._clock() >= record.expires_at.timestamp()
            or user.disabled
        ):
            return None
        return LoginSession(
            record.id, user.id, user.name, record.auth_time.timestamp(), tuple(record.amr)
        )

    async def revoke(self, token: str | None) -> bool:
        """End the session of ``token`` (logout); False when there was none."""
        if token is None or not is_well_formed(token, LOGIN_SESSION_PREFIX):
            return False
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(LoginSessionRecord)
                .where(
                    LoginSessionRecord.digest == self._digest(token),
                    LoginSessionRecord.revoked_at.is_(None),
                )
                .values(revoked_at=utc_datetime(self._clock()))
            )
        return getattr(result, "rowcount", 0) == 1

    async def purge_expired(self, *, grace: float = 86400.0) -> int:
        """Delete sessions expired (or revoked) more than ``grace`` seconds ago."""
        cutoff = utc_datetime(self._clock() - grace)
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                delete(LoginSessionRecord).where(
                    or_(
                        LoginSessionRecord.expires_at < cutoff,
                        LoginSessionRecord.revoked_at < cutoff,
                    )
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def revoke_user(self, user_id: str) -> int:
        """End every session of a user (when disabled or the password changes)."""
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(LoginSessionRecord)
                .where(
                    LoginSessionRecord.user_id == user_id,
                    LoginSessionRecord.revoked_at.is_(None),
                )
                .values(revoked_at=utc_datetime(self._clock()))
            )
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login."""

    user_id: str
    username: str
    amr: tuple[str, ...]


class PasswordLogin:
    """Check a password, then the TOTP (or a recovery) code when enrolled.

    The one place a password and its second factor are checked together: the login
    form and the password change (:meth:`authgate.accounts.users.UserService.set_password`)
    both come here, so both share the login throttle (with Basic) and the bounded,
    off-loop argon2 of :meth:`~authgate.accounts.resolver.StoreResolver.check_password`.

    Args:
        resolver: verifies passwords (argon2id, off the event loop).
        mfa: the TOTP service.
        throttle: counts failures per account and per IP.
    """

    def __init__(self, resolver: StoreResolver, mfa: MfaService, throttle: LoginThrottle) -> None:
        self._resolver = resolver
        self._mfa = mfa
        self.throttle = throttle

    async def check(
        self, username: str, password: str, code: str | None, *, client_ip: str | None
    ) -> LoginResult | None:
        """The user, when every factor holds; None for any failure (one generic answer)."""
        account = username.lower()[:128]
        if not (await self.throttle.acquire(account, client_ip)).allowed:
            return None
        match = await self._resolver.check_password(username, password)
        if match is None:
            return None
        identity = match.identity
        user_id = identity.principal_id
        amr: tuple[str, ...] = ("pwd",)
        if match.second_factor:
            factor = await self._mfa.check_second_factor(user_id, code, client_ip=client_ip)
            if factor is None:
                return None  # still counted: a password without its code is no login
            # a recovery code is a second factor, but no one-time *password* device
            amr = ("pwd", "otp", "mfa") if factor == "totp" else ("pwd", "mfa")
        await self.throttle.succeeded(account, client_ip)
        return LoginResult(user_id, identity.subject, amr)
