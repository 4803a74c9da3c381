"""Audit records of throttle lock-outs: once per account, lane and lock-out period.

A throttled attempt (:mod:`authgate.mfa.throttle`) is refused for a while; each refused
attempt is a failed authentication already (the scheme chain or the login form records
it), but the lock-out itself is a security event worth its own record — an account under
attack, or a user locked out. One record per lock-out, not per refused attempt: an
attacker hammering a locked account would otherwise write a row per request for nothing.
The memory of what was reported is per process (each instance reports a lock-out it sees
once), bounded, and forgets a lock-out when it ends.
"""

from __future__ import annotations

from collections.abc import Callable

from authgate.audit.events import AuditRecord
from authgate.audit.sinks import AuditSink
from authgate.mfa.throttle import Decision

__all__ = ["LockoutAuditor"]

_MAX_REMEMBERED = 10_000


class LockoutAuditor:
    """Writes ``auth.lockout`` when a throttle first refuses an account's lane.

    Args:
        audit: where records go.
        throttle: the throttle's name in the records (``login``, ``mfa``).
        clock: seconds since the epoch (the throttle's clock).
    """

    def __init__(self, audit: AuditSink, throttle: str, clock: Callable[[], float]) -> None:
        self._audit = audit
        self._throttle = throttle
        self._clock = clock
        self._until: dict[tuple[str, str, str], float] = {}

    async def __call__(self, account: str, source: str | None, decision: Decision) -> None:
        """A refused attempt: record it when this lock-out was not recorded yet."""
        now = self._clock()
        key = (account, decision.lane, decision.limit)
        if self._until.get(key, 0.0) > now:
            return
        if len(self._until) >= _MAX_REMEMBERED:
            self._until = {k: t for k, t in self._until.items() if t > now}
            if len(self._until) >= _MAX_REMEMBERED:
                self._until.clear()
        self._until[key] = now + decision.retry_after
        await self._audit.emit(
            AuditRecord.lockout(
                self._throttle,
                account=account,
                limit=decision.limit,
                retry_after=decision.retry_after,
                client_ip=source,
            )
        )
