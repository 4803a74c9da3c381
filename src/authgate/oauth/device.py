"""The OAuth 2.0 Device Authorization Grant (RFC 8628): codes, decisions, redemption.

A device without a browser (a CLI) asks for a device code and a user code (§3.1, §3.2),
shows the user code and the verification URI, and polls the token endpoint with the
device code (§3.4) while the user, in a browser, enters the user code, logs in and
approves or denies (§3.3). The token endpoint answers ``authorization_pending``,
``slow_down``, ``access_denied`` or ``expired_token`` until the user decided (§3.5).

Codes:

* **Device code**: an authgate secret (``agd_`` prefix, ~178 random bits, CRC32
  checksum, see :mod:`authgate.crypto.keys`); only the device sees it. Guessing one is
  hopeless (§5.2), and a malformed one is refused before any lookup.
* **User code**: 8 characters of the §6.1 base-20 consonant alphabet
  ``BCDFGHJKLMNPQRSTVWXZ`` (no vowels, so no words; no digits or look-alikes), shown as
  ``XXXX-XXXX``: 20**8 ≈ 2.56e10 values, ~34.6 bits. Entry is forgiving (case, dashes,
  spaces are ignored, §6.1) and strict otherwise (anything else is refused).

Both are stored as keyed digests only (HMAC-SHA256 under the server's digest key, one
purpose label each) and looked up by digest: the database never holds a usable code.

Brute force of user codes (§5.1). A user code is short on purpose, so guessing is
bounded by: its lifetime (10 minutes by default); the space (2.56e10 codes against the
few that are pending at any time); the verification page, which must require a
logged-in user (guesses are attributable and can be throttled per user and per IP, e.g.
like :mod:`authgate.mfa.throttle`) and must show the client and scopes and ask for an
explicit approval before :meth:`DeviceService.approve` (§5.4 remote phishing); and the
single use of every code. :meth:`DeviceService.find_pending` answers None alike for
unknown, malformed, expired and decided codes, so it is no oracle for which codes exist.

Polling (§3.5). Each row keeps ``last_polled_at`` and its ``interval``. A poll that
comes sooner than ``interval`` seconds after the previous one answers ``slow_down`` and
raises the interval by 5 seconds for all subsequent requests (stored). Decisions and
redemption are conditional ``UPDATE`` statements (``WHERE status = 'pending'`` and not
expired; ``WHERE status = 'approved'`` → ``used``), each committed before the answer:
two concurrent redemptions of one approved code cannot both succeed, and a redeemed code
is ``invalid_grant`` forever after.

The decisions on codes are sans-I/O (:func:`new_user_code`, :func:`normalize_user_code`,
:func:`format_user_code`); :class:`DeviceService` holds the rows. The HTTP adapter of
§3.1 is :mod:`authgate.server.routes_device`.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError

from authgate.crypto.digest import Digester
from authgate.crypto.keys import generate_key, is_well_formed
from authgate.oauth.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidTokenScope,
    SlowDown,
)
from authgate.oauth.grant_rules import check_grant_allowed
from authgate.oauth.records import ClientRecord
from authgate.oauth.registration import DEVICE_CODE_GRANT
from authgate.store.db import Database
from authgate.store.models_device import DeviceCodeRecord
from authgate.timefmt import utc_datetime

__all__ = [
    "DEVICE_CODE_PREFIX",
    "SLOW_DOWN_STEP",
    "USER_CODE_ALPHABET",
    "USER_CODE_LENGTH",
    "DeviceAuthorization",
    "DeviceGrant",
    "DeviceService",
    "PendingDevice",
    "format_user_code",
    "new_device_code",
    "new_user_code",
    "normalize_user_code",
]

DEVICE_CODE_PREFIX = "agd_"
#: RFC 8628 §6.1: base-20, consonants only (no vowels: no words; no digits: no 0/O, 1/I).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: RFC 8628 §3.5: ``slow_down`` raises the interval by 5 seconds, for good.
SLOW_DOWN_STEP = 5
_MAX_INTERVAL = 3600  # beyond any sane lifetime: the code expires before the next poll
_DEVICE_PURPOSE = "oauth-device-code"
_USER_PURPOSE = "oauth-user-code"
_USER_CODE_SET = frozenset(USER_CODE_ALPHABET)
_USER_CODE_SEPARATORS = frozenset(" -\t")
_MAX_USER_CODE_INPUT = 32
_INSERT_ATTEMPTS = 3

_PENDING = "pending"
_APPROVED = "approved"
_DENIED = "denied"
_USED = "used"


# Every slow_down answer adds its 5 seconds, concurrent ones too (in SQL, not from a read).
_slower = case(
    (DeviceCodeRecord.interval + SLOW_DOWN_STEP > _MAX_INTERVAL, _MAX_INTERVAL),
    else_=DeviceCodeRecord.interval + SLOW_DOWN_STEP,
)


# -- codes (sans-I/O) -------------------------------------------------------------------


def new_device_code() -> str:
    """A new device code (``agd_`` + ~178 random bits + checksum)."""
    return generate_key(DEVICE_CODE_PREFIX)


def new_user_code() -> str:
    """A new user code in canonical form: 8 characters of :data:`USER_CODE_ALPHABET`."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """The display form of a canonical user code: ``XXXX-XXXX``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(text: str) -> str | None:
    """The canonical user code a user typed, or None when it cannot be one.

    Case is ignored and dashes and spaces (or tabs) are dropped (RFC 8628 §6.1); any
    other character, non-ASCII input (whose upper case could turn into alphabet
    letters, like ``ß`` → ``SS``) or the wrong length is refused.
    """
    if not isinstance(text, str) or len(text) > _MAX_USER_CODE_INPUT or not text.isascii():
        return None
    code = "".join(c for c in text.upper() if c not in _USER_CODE_SEPARATORS)
    if len(code) != USER_CODE_LENGTH or not _USER_CODE_SET.issuperset(code):
        return None
    return code


# -- results ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """A started device authorization: the only moment both codes exist in clear.

    Attributes:
        device_code: the device's secret for polling the token endpoint.
        user_code: the code the user enters, in display form (``XXXX-XXXX``).
        verification_uri: where the user goes.
        verification_uri_complete: the same with the user code in the query.
        expires_in: seconds until both codes expire.
        interval: seconds the device waits between polls.
    """

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    def as_json(self) -> dict[str, Any]:
        """The RFC 8628 §3.2 device authorization response."""
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }

    def __repr__(self) -> str:
        return (
            f"DeviceAuthorization(device_code=***, user_code=***, "
            f"expires_in={self.expires_in!r}, interval={self.interval!r})"
        )


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A pending authorization, as the verification page shows it before the decision.

    Attributes:
        client_id: the client that asked.
        scopes: the scopes it asked for.
        expires_at: when the codes expire, seconds since the epoch.
    """

    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """What a redeemed device code stands for (the token endpoint issues tokens for it).

    Attributes:
        user_id: the user who approved.
        client_id: the client the code was issued to.
        scopes: the scopes the client asked for and the user approved.
        auth_time: when the user authenticated, seconds since the epoch.
    """

    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    auth_time: float


# -- the service ------------------------------------------------------------------------


class DeviceService:
    """Start, show, decide and redeem device authorizations.

    Args:
        db: the database.
        digester: the keyed digest (HMAC) of both codes.
        verification_uri: the page where users enter the user code (RFC 8628 §3.2);
            it must require a logged-in user (see the module docstring).
        lifetime: seconds a device authorization lives (``expires_in``).
        interval: initial seconds between polls (``interval``).
        clock: seconds since the epoch.
    """

    def __init__(
        self,
        db: Database,
        digester: Digester,
        *,
        verification_uri: str,
        lifetime: int = 600,
        interval: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lifetime <= 0 or not 0 < interval <= _MAX_INTERVAL:
            raise ValueError("need lifetime > 0 and 0 < interval <= 3600")
        self._db = db
        self._digester = digester
        self.verification_uri = verification_uri
        self.lifetime = int(lifetime)
        self.interval = int(interval)
        self._clock = clock

    def device_code_digest(self, device_code: str) -> str:
        """The stored form of a device code."""
        return self._digester.digest(device_code, purpose=_DEVICE_PURPOSE)

    def user_code_digest(self, user_code: str) -> str:
        """The stored form of a user code (canonical form, see :func:`normalize_user_code`)."""
        return self._digester.digest(user_code, purpose=_USER_PURPOSE)

    def verification_uri_complete(self, user_code: str) -> str:
        """``verification_uri`` with ``user_code`` (display form) in its query (§3.3.1)."""
        sep = "&" if "?" in self.verification_uri else "?"
        return f"{self.verification_uri}{sep}user_code={user_code}"

    # -- §3.1/§3.2: the device asks -----------------------------------------------------

    async def start(self, client: ClientRecord, scopes: tuple[str, ...]) -> DeviceAuthorization:
        """Start a device authorization for ``client`` (committed before returning).

        Args:
            client: the authenticated client, registered for the device grant.
            scopes: the resolved scopes (within the client's registered scopes).

        Raises:
            UnauthorizedClient: the client is not registered for the device grant.
            InvalidTokenScope: a scope outside the client's registration.
        """
        check_grant_allowed(client, DEVICE_CODE_GRANT)
        extra = [s for s in scopes if s not in client.scopes]
        if extra:
            raise InvalidTokenScope(reason=f"not allowed: {' '.join(extra)[:200]}")
        for attempt in range(_INSERT_ATTEMPTS):
            now = self._clock()
            device_code = new_device_code()
            user_code = new_user_code()
            row = DeviceCodeRecord(
                id=uuid.uuid4().hex,
                device_code_digest=self.device_code_digest(device_code),
                user_code_digest=self.user_code_digest(user_code),
                client_id=client.client_id,
                scopes=list(scopes),
                created_at=utc_datetime(now),
                expires_at=utc_datetime(now + self.lifetime),
                interval=self.interval,
                last_polled_at=None,
                status=_PENDING,
                user_id=None,
                auth_time=None,
                decided_at=None,
                used_at=None,
            )
            try:
                async with self._db.session() as s, s.begin():
                    s.add(row)
            except IntegrityError:
                # a user code still on file (2.56e10 values: rare); draw again
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise
                continue
            shown = format_user_code(user_code)
            return DeviceAuthorization(
                device_code=device_code,
                user_code=shown,
                verification_uri=self.verification_uri,
                verification_uri_complete=self.verification_uri_complete(shown),
                expires_in=self.lifetime,
                interval=self.interval,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # -- §3.3: the user decides ---------------------------------------------------------

    async def find_pending(self, user_code: str) -> PendingDevice | None:
        """The pending authorization for a user code the user typed, for the page to show.

        None alike for malformed, unknown, expired, approved, denied and used codes.
        """
        code = normalize_user_code(user_code)
        if code is None:
            return None
        async with self._db.session() as s:
            row = await s.scalar(
                select(DeviceCodeRecord).where(
                    DeviceCodeRecord.user_code_digest == self.user_code_digest(code)
                )
            )
        if row is None or row.status != _PENDING or self._clock() >= row.expires_at.timestamp():
            return None
        return PendingDevice(row.client_id, tuple(row.scopes), row.expires_at.timestamp())

    async def approve(self, user_code: str, *, user_id: str, auth_time: float) -> bool:
        """The logged-in user ``user_id`` approves; False unless the code was pending.

        Args:
            user_code: the code as typed (normalized here).
            user_id: the approving user (the tokens' subject).
            auth_time: when that user authenticated, seconds since the epoch.
        """
        return await self._decide(user_code, _APPROVED, user_id=user_id, auth_time=auth_time)

    async def deny(self, user_code: str) -> bool:
        """The user denies; False unless the code was pending."""
        return await self._decide(user_code, _DENIED, user_id=None, auth_time=None)

    async def _decide(
        self, user_code: str, status: str, *, user_id: str | None, auth_time: float | None
    ) -> bool:
        code = normalize_user_code(user_code)
        if code is None:
            return False
        now = self._clock()
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(DeviceCodeRecord)
                .where(
                    DeviceCodeRecord.user_code_digest == self.user_code_digest(code),
                    DeviceCodeRecord.status == _PENDING,
                    DeviceCodeRecord.expires_at > utc_datetime(now),
                )
                .values(
                    status=status,
                    user_id=user_id,
                    auth_time=utc_datetime(auth_time) if auth_time is not None else None,
                    decided_at=utc_datetime(now),
                )
            )
        return getattr(result, "rowcount", 0) == 1

    # -- §3.4/§3.5: the device polls ----------------------------------------------------

    async def redeem(self, device_code: str, client_id: str) -> DeviceGrant:
        """Redeem ``device_code`` for the authenticated client ``client_id``, once.

        Returns:
            The grant, when the user approved (the code is then used up).

        Raises:
            AuthorizationPending: the user has not decided yet.
            SlowDown: still pending, and polled sooner than the interval (now + 5 s).
            AccessDenied: the user denied.
            ExpiredToken: the code expired.
            InvalidGrant: malformed, unknown or already redeemed code, or a code issued
                to another client.
        """
        if not is_well_formed(device_code, DEVICE_CODE_PREFIX):
            raise InvalidGrant(reason="device: malformed code")
        digest = self.device_code_digest(device_code)
        row_id = ""
        for _ in range(2):  # a second look only when another poll or a decision raced ours
            async with self._db.session() as s:
                row = await s.scalar(
                    select(DeviceCodeRecord).where(DeviceCodeRecord.device_code_digest == digest)
                )
            if row is None:
                raise InvalidGrant(reason="device: unknown code")
            if row.client_id != client_id:
                raise InvalidGrant(reason="device: code issued to another client")
            if row.status == _USED:
                raise InvalidGrant(reason="device: code already redeemed")
            now = self._clock()
            if now >= row.expires_at.timestamp():
                raise ExpiredToken(reason="device: code expired")
            if row.status == _DENIED:
                raise AccessDenied(reason="device: the user denied")
            if row.status == _APPROVED:
                return await self._use(row, now)
            row_id = row.id
            if await self._poll(row, now):
                raise AuthorizationPending(reason="device: pending")
        raise await self._slow_down(row_id, self._clock(), "concurrent polls")

    async def _poll(self, row: DeviceCodeRecord, now: float) -> bool:
        """Record a poll of a pending code: True when in time, False when it changed under us.

        Raises:
            SlowDown: polled sooner than the interval (the interval grows, stored).
        """
        last = row.last_polled_at
        if last is not None and now - last.timestamp() < row.interval:
            raise await self._slow_down(row.id, now, f"polled after {now - last.timestamp():.1f}s")
        # Conditional on the poll we judged: of two concurrent polls only one passes; the
        # other (or a poll racing the user's decision) looks again.
        in_time = (
            DeviceCodeRecord.last_polled_at.is_(None)
            if last is None
            else DeviceCodeRecord.last_polled_at <= utc_datetime(now - row.interval)
        )
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(DeviceCodeRecord)
                .where(DeviceCodeRecord.id == row.id, DeviceCodeRecord.status == _PENDING, in_time)
                .values(last_polled_at=utc_datetime(now))
            )
        return getattr(result, "rowcount", 0) == 1

    async def _slow_down(self, row_id: str, now: float, why: str) -> SlowDown:
        """Raise the stored interval by 5 s (still pending only); the error to raise."""
        async with self._db.session() as s, s.begin():
            await s.execute(
                update(DeviceCodeRecord)
                .where(DeviceCodeRecord.id == row_id, DeviceCodeRecord.status == _PENDING)
                .values(interval=_slower, last_polled_at=utc_datetime(now))
            )
        return SlowDown(reason=f"device: {why}")

    async def _use(self, row: DeviceCodeRecord, now: float) -> DeviceGrant:
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                update(DeviceCodeRecord)
                .where(DeviceCodeRecord.id == row.id, DeviceCodeRecord.status == _APPROVED)
                .values(status=_USED, used_at=utc_datetime(now), last_polled_at=utc_datetime(now))
            )
        if getattr(result, "rowcount", 0) != 1:
            raise InvalidGrant(reason="device: concurrent redemption")
        if row.user_id is None or row.auth_time is None:  # pragma: no cover - set on approval
            raise InvalidGrant(reason="device: approved without a user")
        return DeviceGrant(row.user_id, row.client_id, tuple(row.scopes), row.auth_time.timestamp())

    # -- housekeeping -------------------------------------------------------------------

    async def purge_expired(self, *, grace: float = 86400.0) -> int:
        """Delete authorizations expired more than ``grace`` seconds ago; returns how many.

        Expired rows answer ``expired_token`` until then; afterwards ``invalid_grant``.
        Purging also frees their user codes' digests (unique) for reuse.
        """
        cutoff = utc_datetime(self._clock()) - timedelta(seconds=grace)
        async with self._db.session() as s, s.begin():
            result = await s.execute(
                delete(DeviceCodeRecord).where(DeviceCodeRecord.expires_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)
