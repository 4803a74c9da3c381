"""TOTP factors (RFC 6238 over RFC 4226 HOTP) and recovery codes, on the store.

Lifecycle: :meth:`MfaService.begin_enrolment` creates an *unconfirmed* factor and shows
its secret once (otpauth URI and QR code); :meth:`~MfaService.confirm_enrolment` proves
the authenticator works with one code, confirms the factor and shows the recovery codes
once; :meth:`~MfaService.verify` / :meth:`~MfaService.verify_recovery` check a code
(:meth:`~MfaService.check_second_factor` either kind); :meth:`~MfaService.disable`
removes the factor and its codes; :meth:`~MfaService.regenerate_recovery_codes` replaces
the codes.

Step-up: turning one's own confirmed factor off and replacing one's recovery codes need
a current TOTP code or an unused recovery code, whatever credential made the request —
a stolen API key (or a known password) must not be enough to strip the second factor.
An admin removing *another* user's factor (a lost device) needs none: that stays an
admin's power, as it was.

Replay (RFC 6238 §5.2): the step of an accepted code is written with a conditional
``UPDATE ... WHERE last_used_step < :step``; of two concurrent uses of one code only the
one whose update hits a row wins, on every instance sharing the database. Recovery codes
are spent the same way (``WHERE used_at IS NULL``). Every check passes through
:class:`~authgate.mfa.throttle.LoginThrottle` first.

Ownership as for keys: a member manages only their own factor, an admin anyone's; any
other user's factor answers like a missing one. Audit events never carry the secret, a
code or a digest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import CursorResult, delete, func, insert, or_, select, update

from authgate.accounts.users import find_owner
from authgate.audit import AuditRecord, AuditSink
from authgate.crypto.digest import Digester
from authgate.crypto.sealing import MasterKeyRing, SealError
from authgate.crypto.secret import Secret
from authgate.errors import Conflict, InvalidCredentials, InvalidRequest, NotFound
from authgate.identity import Identity
from authgate.mfa import totp
from authgate.mfa.enrolment import EnrolmentStarted
from authgate.mfa.recovery import RecoveryCodes
from authgate.mfa.throttle import LoginThrottle
from authgate.store.db import Database
from authgate.store.models import User
from authgate.store.models_mfa import RecoveryCode, TotpFactor

__all__ = ["EnrolmentStarted", "MfaService", "SecondFactor"]

#: Which second factor a code proved: a TOTP code, or a (now spent) recovery code.
SecondFactor = Literal["totp", "recovery"]


class MfaService:
    """Enrol, confirm, verify and disable TOTP factors; spend recovery codes."""

    def __init__(
        self,
        db: Database,
        master_keys: MasterKeyRing,
        digester: Digester,
        audit: AuditSink,
        throttle: LoginThrottle,
        clock: Callable[[], float],
        *,
        issuer: str = "authgate",
        params: totp.TotpParams = totp.TotpParams(),  # noqa: B008
        on_principal_changed: Callable[[str], None] = lambda _id: None,
    ) -> None:
        self._db = db
        self._ring = master_keys
        self._recovery = RecoveryCodes(digester)
        self._audit = audit
        self._throttle = throttle
        self._clock = clock
        self._issuer = issuer
        self._params = params
        # a factor confirmed or removed changes what a cached password login is worth
        self._changed = on_principal_changed

    # -- enrolment ---------------------------------------------------------------------

    async def begin_enrolment(
        self, actor: Identity, user: str | None = None, *, client_ip: str | None = None
    ) -> EnrolmentStarted:
        """Create an unconfirmed factor (replacing an unconfirmed one) and show its secret.

        Raises:
            NotFound: no such user, or not the caller's to manage.
            Conflict: the user already has a confirmed factor (disable it first).
        """
        owner = await self._owner(actor, user)
        factor_id = uuid.uuid4().hex
        raw = totp.generate_secret()
        b32 = totp.b32_encode(raw)
        factor = TotpFactor(
            id=factor_id,
            user_id=owner.id,
            secret_sealed=self._ring.seal(b32, aad=factor_id),
            algorithm=self._params.algorithm,
            digits=self._params.digits,
            period=self._params.period,
            confirmed_at=None,
            last_used_step=None,
            created_at=self._now(),
        )
        async with self._db.session() as s, s.begin():
            existing = await s.scalar(select(TotpFactor).where(TotpFactor.user_id == owner.id))
            if existing is not None and existing.confirmed_at is not None:
                raise Conflict("TOTP is already enabled for this user; disable it first")
            if existing is not None:
                await s.delete(existing)
                await s.flush()
            s.add(factor)
        uri = totp.otpauth_uri(raw, account=owner.name, issuer=self._issuer, params=self._params)
        await self._record("mfa.enrolment_started", actor, owner.id, factor_id, client_ip)
        return EnrolmentStarted(
            factor_id, Secret(b32), Secret(uri), totp.qr_svg(uri), totp.qr_png(uri)
        )

    async def confirm_enrolment(
        self,
        actor: Identity,
        user: str | None,
        code: object,
        *,
        client_ip: str | None = None,
    ) -> list[str]:
        """Confirm the pending factor with a current code; returns the recovery codes.

        Raises:
            NotFound: no pending factor for a user the caller may manage.
            InvalidCredentials: wrong, replayed or throttled code.
        """
        owner = await self._owner(actor, user)
        factor = await self._factor(owner.id)
        if factor is None or factor.confirmed_at is not None:
            raise NotFound("no TOTP enrolment is pending")
        if not await self._check_code(factor, code, client_ip, confirming=True):
            await self._record(
                "mfa.failed", actor, owner.id, factor.id, client_ip, outcome="failure"
            )
            raise InvalidCredentials("The code is invalid.")
        codes = await self._issue_recovery_codes(owner.id)
        self._changed(owner.id)  # a cached password of this user now needs the code too
        await self._record("mfa.enrolled", actor, owner.id, factor.id, client_ip)
        return codes

    async def regenerate_recovery_codes(
        self, actor: Identity, code: object, *, client_ip: str | None = None
    ) -> list[str]:
        """Replace the caller's recovery codes; needs a current TOTP or recovery code.

        Raises:
            NotFound: the caller has no confirmed factor.
            InvalidRequest: no code given.
            InvalidCredentials: wrong, replayed, spent or throttled code.
        """
        owner = await self._owner(actor, None)
        factor = await self._factor(owner.id)
        if factor is None or factor.confirmed_at is None:
            raise NotFound("TOTP is not enabled for this user")
        await self._require_second_factor(owner.id, code, client_ip, "replace recovery codes")
        codes = await self._issue_recovery_codes(owner.id)
        await self._record("mfa.recovery_codes_replaced", actor, owner.id, factor.id, client_ip)
        return codes

    async def disable(
        self,
        actor: Identity,
        user: str | None = None,
        *,
        code: object = None,
        client_ip: str | None = None,
    ) -> None:
        """Remove the user's factor (confirmed or pending) and recovery codes.

        One's own confirmed factor goes only with a current TOTP or unused recovery
        ``code``; an admin removing another user's factor needs none (module docstring).

        Raises:
            NotFound: no factor, or a user the caller may not manage.
            InvalidRequest: one's own confirmed factor, and no code given.
            InvalidCredentials: wrong, replayed, spent or throttled code.
        """
        owner = await self._owner(actor, user)
        factor = await self._factor(owner.id)
        if factor is None:
            raise NotFound("TOTP is not enabled for this user")
        if owner.id == actor.principal_id and factor.confirmed_at is not None:
            await self._require_second_factor(owner.id, code, client_ip, "turn TOTP off")
        async with self._db.session() as s, s.begin():
            gone = await s.execute(delete(TotpFactor).where(TotpFactor.user_id == owner.id))
            await s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == owner.id))
        if _rowcount(gone) == 0:
            raise NotFound("TOTP is not enabled for this user")
        self._changed(owner.id)
        await self._record("mfa.disabled", actor, owner.id, None, client_ip)

    # -- verification ------------------------------------------------------------------

    async def is_enrolled(self, user_id: str) -> bool:
        """True when the user has a confirmed TOTP factor."""
        factor = await self._factor(user_id)
        return factor is not None and factor.confirmed_at is not None

    async def verify(self, user_id: str, code: object, *, client_ip: str | None = None) -> bool:
        """Check a TOTP code of a confirmed factor: True once per code, else False."""
        factor = await self._factor(user_id)
        ok = (
            factor is not None
            and factor.confirmed_at is not None
            and await self._check_code(factor, code, client_ip, confirming=False)
        )
        event, outcome = ("mfa.verified", "success") if ok else ("mfa.failed", "failure")
        await self._record_self(event, user_id, factor.id if factor else None, client_ip, outcome)
        return ok

    async def verify_recovery(
        self, user_id: str, code: object, *, client_ip: str | None = None
    ) -> bool:
        """Spend a recovery code: True the first time a valid code is used, else False."""
        decision = await self._throttle.acquire(user_id, client_ip)
        digest = self._recovery.digest(code)
        spent = False
        if decision.allowed and digest is not None:
            async with self._db.session() as s, s.begin():
                result = await s.execute(
                    update(RecoveryCode)
                    .where(
                        RecoveryCode.user_id == user_id,
                        RecoveryCode.code_digest == digest,
                        RecoveryCode.used_at.is_(None),
                    )
                    .values(used_at=self._now())
                )
                spent = _rowcount(result) == 1
        if not spent:
            await self._record_self("mfa.failed", user_id, None, client_ip, "failure")
            return False
        await self._throttle.succeeded(user_id, client_ip)
        left = await self.recovery_codes_left(user_id)
        await self._record_self(
            "mfa.recovery_used", user_id, None, client_ip, "success", {"remaining": left}
        )
        return True

    async def check_second_factor(
        self, user_id: str, code: object, *, client_ip: str | None = None
    ) -> SecondFactor | None:
        """Check a second factor of a confirmed user: a TOTP code or a recovery code.

        Digits are a TOTP code (:meth:`verify`), anything else a recovery code
        (:meth:`verify_recovery`, spent when right); both through the throttle and the
        replay rules. Returns which one held, or None.
        """
        text = code.strip() if isinstance(code, str) else ""
        if not text:
            return None
        if text.isdigit():
            return "totp" if await self.verify(user_id, text, client_ip=client_ip) else None
        return (
            "recovery" if await self.verify_recovery(user_id, text, client_ip=client_ip) else None
        )

    async def recovery_codes_left(self, user_id: str) -> int:
        """How many unused recovery codes the user still has."""
        async with self._db.session() as s:
            n = await s.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            )
        return int(n or 0)

    # -- helpers -----------------------------------------------------------------------

    async def _check_code(
        self, factor: TotpFactor, code: object, client_ip: str | None, *, confirming: bool
    ) -> bool:
        decision = await self._throttle.acquire(factor.user_id, client_ip)
        if not decision.allowed:
            return False
        try:
            secret = totp.b32_decode(self._ring.unseal(factor.secret_sealed, aad=factor.id))
            params = totp.TotpParams(factor.algorithm, factor.digits, factor.period)  # type: ignore[arg-type]
        except (SealError, ValueError):
            return False
        step = totp.verify(
            secret, code, self._clock(), last_used_step=factor.last_used_step, params=params
        )
        if step is None:
            return False
        values: dict[str, Any] = {"last_used_step": step}
        where = [
            TotpFactor.id == factor.id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        ]
        if confirming:
            values["confirmed_at"] = self._now()
            where.append(TotpFactor.confirmed_at.is_(None))
        else:
            where.append(TotpFactor.confirmed_at.is_not(None))
        # The database decides who used the step first: of two concurrent uses, one wins.
        async with self._db.session() as s, s.begin():
            result = await s.execute(update(TotpFactor).where(*where).values(**values))
        if _rowcount(result) != 1:
            return False
        await self._throttle.succeeded(factor.user_id, client_ip)
        return True

    async def _require_second_factor(
        self, user_id: str, code: object, client_ip: str | None, action: str
    ) -> None:
        if code is None or (isinstance(code, str) and not code.strip()):
            raise InvalidRequest(
                f"A current TOTP code or an unused recovery code is required in 'code' to {action}."
            )
        if await self.check_second_factor(user_id, code, client_ip=client_ip) is None:
            raise InvalidCredentials("The code is invalid.")

    async def _issue_recovery_codes(self, user_id: str) -> list[str]:
        """A new set of recovery codes for the user, replacing the old set."""
        codes = self._recovery.generate()
        async with self._db.session() as s, s.begin():
            await s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            await s.execute(
                insert(RecoveryCode),
                [
                    {
                        "id": uuid.uuid4().hex,
                        "user_id": user_id,
                        "code_digest": self._recovery.digest(c),
                        "used_at": None,
                    }
                    for c in codes
                ],
            )
        return codes

    async def _factor(self, user_id: str) -> TotpFactor | None:
        async with self._db.session() as s:
            return await s.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))

    async def _owner(self, actor: Identity, user: str | None) -> User:
        # another user's factor answers exactly like a missing user (OWASP API1)
        return await find_owner(self._db, actor, user)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _record(
        self,
        event: str,
        actor: Identity,
        user_id: str,
        factor_id: str | None,
        client_ip: str | None,
        *,
        outcome: str = "success",
    ) -> None:
        await self._audit.emit(
            AuditRecord(
                event,
                outcome=outcome,
                actor_id=actor.principal_id,
                actor=actor.subject,
                target_user_id=user_id,
                credential_id=factor_id,
                scheme=actor.scheme,
                client_ip=client_ip,
                detail={"factor": "totp"},
            )
        )

    async def _record_self(
        self,
        event: str,
        user_id: str,
        factor_id: str | None,
        client_ip: str | None,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._audit.emit(
            AuditRecord(
                event,
                outcome=outcome,
                actor_id=user_id,
                target_user_id=user_id,
                credential_id=factor_id,
                scheme="totp",
                client_ip=client_ip,
                detail={"factor": "totp", **(detail or {})},
            )
        )


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
