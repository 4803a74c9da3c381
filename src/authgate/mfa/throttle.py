"""Throttling of password and one-time-code guesses (NIST SP 800-63B §5.2.2).

RFC 4226 §7.3 and RFC 6238 §5.1 require it for one-time codes.

One :class:`LoginThrottle` counts password checks (Basic and the login form), another
TOTP and recovery codes; each has its own budget.

A 6-digit code accepted over three steps gives a guess a 3-in-a-million chance, so
guesses must be limited — but a limit that an attacker can trip is a way to lock the
real user out. The policy below bounds the attacker and keeps a lane open for the user.

Policy (defaults of :class:`ThrottlePolicy`), per account = user id, across all IPs:

1. **Counting.** Every attempt is counted as a failure *before* the code is checked
   (so concurrent guesses cannot slip past the limit together) and un-counted when it
   succeeds. Counts live in a fixed window of ``window`` seconds (1 h) that starts at the
   first failure; when it ends, the account starts afresh. Nothing is ever permanent.
2. **Hard cap.** At most ``max_failures`` (100) failures per account per window, all
   sources together; then guesses are refused until the window ends.
3. **Reserve for known sources.** A source (client IP) that completed a code check for
   this account within ``trust_ttl`` (30 days) is *known*. Unknown sources stop at
   ``max_failures - known_reserve`` (90) failures; the last ``known_reserve`` (10) are
   for known sources only. An attacker spraying from any number of new IPs therefore
   exhausts only the shared part, and the user, from a network they used before, still
   gets in during the attack; from a new network, after the window.
4. **Growing delay.** Within a lane (unknown sources share one lane per account; each
   known source has its own), after ``free_failures`` (3) consecutive failures the next
   attempt must wait ``base_delay * 2**k`` seconds (1, 2, 4, ... capped at ``max_delay``
   = 30 s). An attacker's delays never slow a known source's lane.
5. **Success** resets the account (counts, delays) and marks the source as known.
6. **Per IP**, across accounts: at most ``ip_max_failures`` (100) failures per window,
   so one address cannot spray many accounts. This can also slow a user sharing that
   address (NAT), never for longer than the window.

The decisions are pure functions over plain state (:func:`decide`, :func:`charge`,
:func:`refund`); :class:`LoginThrottle` loads and saves the state through a
:class:`ThrottleStore` with an injected clock (:mod:`authgate.mfa.throttle_store`: on any
:class:`~authgate.kv.store.ExpiringStore`). Its ``MemoryThrottleStore`` serves one
instance; instances sharing a database need a shared store
(:class:`~authgate.cache.redis_throttle.RedisThrottleStore`).

Load → decide/charge → save must be atomic for the counting rule (1.) to hold: two
attempts that both read *n* failures and both write *n + 1* would let a guess through
uncounted, and an attacker spraying several instances would get several times the cap.
So :class:`LoginThrottle` does the whole sequence under :meth:`ThrottleStore.lock`, which
the store makes exclusive across everyone who shares it (one process for the memory
store, every instance for the Redis store), and saves through the store view the lock
yields (the Redis store refuses a save whose lock was lost).

A store that cannot answer raises an :class:`~authgate.errors.AuthError` (the Redis store:
503 ``temporarily_unavailable``). :meth:`LoginThrottle.acquire` lets it through — the
attempt is refused, never let past an unrecorded count (fail closed; NIST SP 800-63B
§5.2.2 requires the limit to hold). :meth:`LoginThrottle.succeeded` logs and swallows it:
the refund only ever loosens the state, so losing it leaves the account *stricter*, and
the factor just verified (a TOTP step or a recovery code, already spent) stays accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from authgate.errors import AuthError

__all__ = [
    "UNKNOWN_LANE",
    "AccountState",
    "Decision",
    "LoginThrottle",
    "SourceState",
    "ThrottlePolicy",
    "ThrottleStates",
    "ThrottleStore",
    "charge",
    "decide",
    "refund",
]

#: The lane shared by every source not yet known for the account.
UNKNOWN_LANE = "*"

log = logging.getLogger("authgate.mfa")

#: Told of every refused attempt: account, source, decision (e.g. to audit a lock-out).
OnRefused = Callable[[str, "str | None", "Decision"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Limits on failed code checks; see the module docstring for their meaning."""

    window: float = 3600.0
    max_failures: int = 100
    known_reserve: int = 10
    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    ip_max_failures: int = 100
    trust_ttl: float = 30 * 86400.0

    def __post_init__(self) -> None:
        if not 0 < self.max_failures <= 100:
            raise ValueError("max_failures must be between 1 and 100 (NIST SP 800-63B)")
        if not 0 <= self.known_reserve < self.max_failures:
            raise ValueError("known_reserve must be below max_failures")
        if self.window <= 0 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("window, base_delay and max_delay must be positive and ordered")

    def delay(self, consecutive: int) -> float:
        """Wait imposed after ``consecutive`` failures in one lane."""
        over = consecutive - self.free_failures
        if over <= 0:
            return 0.0
        return float(min(self.base_delay * 2 ** min(over - 1, 32), self.max_delay))


@dataclass(slots=True)
class Lane:
    """Consecutive failures of one lane and when the last one happened."""

    consecutive: int = 0
    last_failure: float = 0.0


@dataclass(slots=True)
class AccountState:
    """Everything the throttle knows about one account."""

    window_start: float = 0.0
    failures: int = 0
    lanes: dict[str, Lane] = field(default_factory=dict)
    known: dict[str, float] = field(default_factory=dict)  # source -> trusted until


@dataclass(slots=True)
class SourceState:
    """Failures from one client IP, across accounts."""

    window_start: float = 0.0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a code may be checked now; if not, how long until it may."""

    allowed: bool
    retry_after: float = 0.0
    lane: str = UNKNOWN_LANE
    #: what refused it: ``delay`` (rule 4), ``account`` (rules 2-3) or ``source`` (rule 6)
    limit: str = ""


def _roll(state: AccountState | SourceState, now: float, policy: ThrottlePolicy) -> None:
    if state.failures and now >= state.window_start + policy.window:
        state.failures = 0
        state.window_start = now
        if isinstance(state, AccountState):
            state.lanes.clear()


def lane_of(account: AccountState, source: str | None, now: float) -> str:
    """The source's own lane when it is known for this account, else the shared one."""
    if source is not None and account.known.get(source, 0.0) > now:
        return source
    return UNKNOWN_LANE


def decide(
    account: AccountState,
    source_state: SourceState,
    source: str | None,
    now: float,
    policy: ThrottlePolicy,
) -> Decision:
    """May a code for this account be checked now, from ``source``? (No state change.)"""
    _roll(account, now, policy)
    _roll(source_state, now, policy)
    lane = lane_of(account, source, now)
    window_end = account.window_start + policy.window
    cap = policy.max_failures - (0 if lane != UNKNOWN_LANE else policy.known_reserve)
    waits: list[tuple[float, str]] = []
    if account.failures >= cap:
        waits.append((window_end - now, "account"))
    if source is not None and source_state.failures >= policy.ip_max_failures:
        waits.append((source_state.window_start + policy.window - now, "source"))
    state = account.lanes.get(lane)
    if state is not None:
        ready = state.last_failure + policy.delay(state.consecutive)
        if ready > now:
            waits.append((ready - now, "delay"))
    if waits:
        wait, limit = max(waits)
        return Decision(False, wait, lane, limit)
    return Decision(True, 0.0, lane)


def charge(account: AccountState, source_state: SourceState, lane: str, now: float) -> None:
    """Count an attempt as a failure before its code is checked."""
    if account.failures == 0:
        account.window_start = now
    account.failures += 1
    state = account.lanes.setdefault(lane, Lane())
    state.consecutive += 1
    state.last_failure = now
    if source_state.failures == 0:
        source_state.window_start = now
    source_state.failures += 1


def refund(
    account: AccountState,
    source_state: SourceState,
    source: str | None,
    now: float,
    policy: ThrottlePolicy,
) -> None:
    """The attempt succeeded: reset the account and trust the source for ``trust_ttl``."""
    account.failures = 0
    account.lanes.clear()
    account.known = {s: t for s, t in account.known.items() if t > now}
    if source is not None:
        account.known[source] = now + policy.trust_ttl
    source_state.failures = max(0, source_state.failures - 1)


class ThrottleStates(Protocol):
    """Loading and saving the state of accounts and sources (``ttl`` in seconds).

    Any method may raise an :class:`~authgate.errors.AuthError` when the store cannot
    answer; see the module docstring for how :class:`LoginThrottle` treats it.
    """

    async def load_account(self, account: str) -> AccountState | None: ...

    async def save_account(self, account: str, state: AccountState, ttl: float) -> None: ...

    async def load_source(self, source: str) -> SourceState | None: ...

    async def save_source(self, source: str, state: SourceState, ttl: float) -> None: ...


class ThrottleStore(ThrottleStates, Protocol):
    """Where throttle state lives between requests (memory, or Redis for many instances)."""

    def lock(self, account: str, source: str | None) -> AbstractAsyncContextManager[ThrottleStates]:
        """Hold ``account`` (and ``source``) against every other user of the store.

        Yields the states to load and save while held (a store may write the saves when
        the block ends, and raise then if it cannot). Exclusive across everyone who
        shares the store, so a load → save under it cannot lose another's update.
        """
        ...


class LoginThrottle:
    """Gate around a code check: :meth:`acquire` before, :meth:`succeeded` after success.

    ``on_refused`` hears of each refused attempt, after the store's lock is released
    (:class:`~authgate.mfa.lockouts.LockoutAuditor` audits the lock-outs).
    """

    def __init__(
        self,
        store: ThrottleStore,
        clock: Callable[[], float],
        policy: ThrottlePolicy = ThrottlePolicy(),
        *,
        on_refused: OnRefused | None = None,
    ) -> None:
        self.policy = policy
        self._store = store
        self._clock = clock
        self._on_refused = on_refused

    async def acquire(self, account: str, source: str | None) -> Decision:
        """Decide, and when allowed count the attempt as a failure until it succeeds.

        Raises:
            AuthError: the store cannot answer (fail closed: the attempt is refused).
        """
        async with self._store.lock(account, source or None) as store:
            now = self._clock()
            state, src = await self._load(store, account, source)
            decision = decide(state, src, source, now, self.policy)
            if decision.allowed:
                charge(state, src, decision.lane, now)
            await self._save(store, account, state, source, src)
        if not decision.allowed and self._on_refused is not None:
            await self._on_refused(account, source or None, decision)
        return decision

    async def succeeded(self, account: str, source: str | None) -> None:
        """The code was right: reset the account's counts and remember the source.

        Best effort: when the store cannot answer, the refund is lost (the account stays
        stricter, never looser) and the caller's success stands.
        """
        try:
            async with self._store.lock(account, source or None) as store:
                now = self._clock()
                state, src = await self._load(store, account, source)
                refund(state, src, source, now, self.policy)
                await self._save(store, account, state, source, src)
        except AuthError as exc:
            log.warning("throttle refund not recorded: %s", exc.reason)

    async def _load(
        self, store: ThrottleStates, account: str, source: str | None
    ) -> tuple[AccountState, SourceState]:
        state = await store.load_account(account) or AccountState()
        src = (await store.load_source(source) if source else None) or SourceState()
        return state, src

    async def _save(
        self,
        store: ThrottleStates,
        account: str,
        state: AccountState,
        source: str | None,
        src: SourceState,
    ) -> None:
        ttl = max([self.policy.window, *(t - self._clock() for t in state.known.values())])
        await store.save_account(account, state, ttl)
        if source:
            await store.save_source(source, src, self.policy.window)
