"""Throttle state shared across instances: failed code and password checks in Redis.

Implements :class:`~authgate.mfa.throttle.ThrottleStore` so the limits of
:mod:`authgate.mfa.throttle` — at most 100 failures per account per window across all
IPs, a reserve for known sources, a per-IP cap (NIST SP 800-63B §5.2.2; RFC 4226 §7.3,
RFC 6238 §5.1) — hold for the deployment, not per instance: an attacker spraying guesses
over several instances that share Redis gets the same budget as against one.

**State.** One key per account and one per source (client IP), each a small JSON document
of :class:`~authgate.mfa.throttle.AccountState` (window, failures, lanes, known sources)
or :class:`~authgate.mfa.throttle.SourceState`, written with ``SET ... PX`` so Redis drops
it when the throttle would have forgotten it anyway. Account names and IPs are
client-chosen, so they are hashed (SHA-256) into the key names: key length is fixed and
nothing a client sends shapes Redis key space (as in :mod:`~authgate.cache.redis_replay`).

**Atomicity.** :meth:`RedisThrottleStore.lock` holds the account and the source with one
Redis lock each, taken together or not at all by one Lua script (``SET lock token PX``
unless either exists), which also returns both states: one round trip. It is retried
with jitter for up to ``lock_timeout``; tasks of one process queue on an in-process lock
first, so only one of them polls Redis. The saves made under the lock are written when
the block ends by a second script that checks both locks still hold this holder's token,
then writes both states and deletes both locks — all or nothing, one round trip. A holder
stalled past ``lock_ttl`` therefore cannot overwrite a newer count, and nobody ever frees
a lock that is not theirs. (Both scripts touch an account's and a source's keys together:
one Redis server or a primary with replicas, not Redis Cluster.)

**Failure mode: closed.** When Redis cannot answer (down, timeout, refused), when the locks
cannot be had within ``lock_timeout``, when the locks were lost before the save, or when a
stored document is unreadable, the store raises :class:`ThrottleUnavailable` — a 503
``temporarily_unavailable`` like :class:`~authgate.cache.redis_replay.ReplayCacheUnavailable`
— so :meth:`~authgate.mfa.throttle.LoginThrottle.acquire` refuses the attempt before any
password or code is checked: no guess is ever made without being counted. (A not-allowed
``Decision`` would also refuse, but as a misleading "wrong password/code" 401 with a
failure audit event.) :meth:`~authgate.mfa.throttle.LoginThrottle.succeeded` treats it as
a lost refund: the account stays stricter, the user's verified factor stands.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import random
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import RedisError

from authgate.cache.redis_replay import ReplayCacheUnavailable
from authgate.mfa.throttle import AccountState, Lane, SourceState, ThrottleStates

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_PREFIX",
    "RedisThrottleStore",
    "ThrottleUnavailable",
    "decode_account",
    "decode_source",
    "encode_account",
    "encode_source",
]

DEFAULT_PREFIX = "authgate:throttle:"
_VERSION = 1
log = logging.getLogger("authgate.cache")
_jitter = random.SystemRandom()
_T = TypeVar("_T")

# KEYS: lock, state, [lock, state]; ARGV: token, lock PX milliseconds.
# Takes every lock or none; returns the states (nil when taken by someone else).
_TAKE = """
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return nil end
end
local states = {}
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  states[#states + 1] = redis.call('GET', KEYS[i + 1])
end
return states
"""
# KEYS: lock, state, [lock, state]; ARGV: token, then per pair a document ('' = keep) and
# its PX milliseconds. Writes and unlocks only if every lock is still ours; else frees
# those that are and returns 0.
_COMMIT = """
local ours = true
for i = 1, #KEYS, 2 do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then ours = false end
end
local n = 0
for i = 1, #KEYS, 2 do
  n = n + 1
  if ours and ARGV[2 * n] ~= '' then
    redis.call('SET', KEYS[i + 1], ARGV[2 * n], 'PX', ARGV[2 * n + 1])
  end
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
if ours then return 1 end
return 0
"""


class ThrottleUnavailable(ReplayCacheUnavailable):
    """The shared throttle state could not be read or written: the attempt is refused.

    503 ``temporarily_unavailable`` with ``Retry-After: 1`` (RFC 6749 §4.1.2.1), the
    answer of the other Redis-backed stores when Redis is down (fail closed).
    """


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _px(ttl: float) -> int:
    """Whole, positive milliseconds, rounded up: state never expires early."""
    return max(1, math.ceil(ttl * 1000))


def encode_account(state: AccountState) -> str:
    """The JSON document of an account's state (floats round-trip exactly)."""
    return json.dumps(
        {
            "v": _VERSION,
            "w": state.window_start,
            "f": state.failures,
            "l": {k: [v.consecutive, v.last_failure] for k, v in state.lanes.items()},
            "k": state.known,
        },
        separators=(",", ":"),
    )


def encode_source(state: SourceState) -> str:
    """The JSON document of a source's state."""
    return json.dumps(
        {"v": _VERSION, "w": state.window_start, "f": state.failures}, separators=(",", ":")
    )


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return float(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("not a count")
    return value


def _document(raw: bytes | str) -> dict[str, Any]:
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("v") != _VERSION:
        raise ValueError("unknown document")
    return doc


def decode_account(raw: bytes | str) -> AccountState:
    """An account's state from :func:`encode_account`'s document.

    Raises:
        ValueError: not such a document.
    """
    doc = _document(raw)
    lanes, known = doc["l"], doc["k"]
    if not isinstance(lanes, dict) or not isinstance(known, dict):
        raise ValueError("bad lanes or known sources")
    out = AccountState(_number(doc["w"]), _count(doc["f"]))
    for lane, pair in lanes.items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError("bad lane")
        out.lanes[lane] = Lane(_count(pair[0]), _number(pair[1]))
    out.known = {source: _number(until) for source, until in known.items()}
    return out


def decode_source(raw: bytes | str) -> SourceState:
    """A source's state from :func:`encode_source`'s document.

    Raises:
        ValueError: not such a document.
    """
    doc = _document(raw)
    return SourceState(_number(doc["w"]), _count(doc["f"]))


@dataclass(slots=True)
class _Waiters:
    lock: asyncio.Lock
    count: int = 0


class RedisThrottleStore:
    """:class:`~authgate.mfa.throttle.ThrottleStore` on Redis, shared by every instance.

    Args:
        redis: an asyncio Redis client (shared pool; never closed here). Give it a
            ``socket_timeout`` (:func:`~authgate.cache.redis_client.open_redis` does) so
            a hung Redis refuses attempts quickly.
        prefix: key prefix; instances that must share counts use the same one, and two
            throttles with separate budgets (the login and the MFA throttle) use two.
        lock_ttl: seconds after which a lock whose holder vanished frees itself.
        lock_timeout: seconds to wait for the locks before refusing the attempt.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lock_ttl: float = 5.0,
        lock_timeout: float = 2.0,
    ) -> None:
        if lock_ttl <= 0 or lock_timeout <= 0:
            raise ValueError("lock_ttl and lock_timeout must be positive")
        self._redis = redis
        self.prefix = prefix
        self._lock_px = _px(lock_ttl)
        self._lock_timeout = lock_timeout
        self._waiters: dict[str, _Waiters] = {}
        self._take_script = redis.register_script(_TAKE)
        self._commit_script = redis.register_script(_COMMIT)

    # -- key names --------------------------------------------------------------------

    def account_key(self, account: str) -> str:
        """``prefix`` + ``a:`` + hex SHA-256 of the account."""
        return f"{self.prefix}a:{_digest(account)}"

    def source_key(self, source: str) -> str:
        """``prefix`` + ``s:`` + hex SHA-256 of the source."""
        return f"{self.prefix}s:{_digest(source)}"

    def lock_key(self, state_key: str) -> str:
        """The lock guarding ``state_key``: ``prefix`` + ``lock:`` + the rest of it."""
        return f"{self.prefix}lock:{state_key[len(self.prefix) :]}"

    # -- plain access, without a lock (ThrottleStates) --------------------------------

    async def load_account(self, account: str) -> AccountState | None:
        """The account's state, or None when there is none (or it expired)."""
        raw = await self._get(self.account_key(account))
        return None if raw is None else _decode(decode_account, raw)

    async def save_account(self, account: str, state: AccountState, ttl: float) -> None:
        """Store the account's state for ``ttl`` seconds."""
        await self._set(self.account_key(account), encode_account(state), ttl)

    async def load_source(self, source: str) -> SourceState | None:
        """The source's state, or None."""
        raw = await self._get(self.source_key(source))
        return None if raw is None else _decode(decode_source, raw)

    async def save_source(self, source: str, state: SourceState, ttl: float) -> None:
        """Store the source's state for ``ttl`` seconds."""
        await self._set(self.source_key(source), encode_source(state), ttl)

    # -- locking ----------------------------------------------------------------------

    @asynccontextmanager
    async def lock(self, account: str, source: str | None) -> AsyncIterator[ThrottleStates]:
        """Hold the account and the source; yields their states, saved when the block ends.

        The yielded view loads the states read when the locks were taken and keeps the
        saves; a block that ends normally writes them (fenced, all or nothing), one that
        raises writes nothing. Either way the locks are released.

        Raises:
            ThrottleUnavailable: Redis did not answer, the locks were not had within
                ``lock_timeout``, or they were lost before the saves were written.
        """
        states = [self.account_key(account)]
        if source:
            states.append(self.source_key(source))
        keys = [k for state in states for k in (self.lock_key(state), state)]
        token = secrets.token_hex(16)
        deadline = asyncio.get_running_loop().time() + self._lock_timeout
        async with AsyncExitStack() as stack:
            try:
                for state in states:
                    async with asyncio.timeout_at(deadline):
                        await stack.enter_async_context(self._queue(self.lock_key(state)))
                raw = await self._take(keys, token, deadline)
            except TimeoutError as exc:
                log.warning("throttle lock not acquired within %ss", self._lock_timeout)
                raise ThrottleUnavailable("throttle lock: timeout") from exc
            except (RedisError, OSError) as exc:
                raise _unavailable(exc) from exc
            held = _Held(account, source or None, raw)
            committed = False
            try:
                yield held
                await self._commit(keys, token, held.documents())
                committed = True
            finally:
                if not committed:
                    await self._release(keys, token)

    @asynccontextmanager
    async def _queue(self, key: str) -> AsyncIterator[None]:
        """Queue this process's tasks for ``key`` so only one of them polls Redis."""
        waiters = self._waiters.get(key)
        if waiters is None:
            waiters = self._waiters[key] = _Waiters(asyncio.Lock())
        waiters.count += 1
        try:
            async with waiters.lock:
                yield
        finally:
            waiters.count -= 1
            if waiters.count == 0:
                del self._waiters[key]

    async def _take(self, keys: list[str], token: str, deadline: float) -> list[Any]:
        """Run the take script until it succeeds or ``deadline`` passes.

        The deadline is checked between attempts, never by cancelling a script in flight
        (which could leave locks nobody knows the token of until ``lock_ttl``).
        """
        loop = asyncio.get_running_loop()
        pause = 0.001
        while True:
            raw = await self._take_script(keys=keys, args=[token, self._lock_px])
            if raw is not None:
                return list(raw)
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            await asyncio.sleep(min(left, _jitter.uniform(0, pause)))
            pause = min(pause * 2, 0.025)

    async def _commit(self, keys: list[str], token: str, documents: list[tuple[str, int]]) -> None:
        args: list[str | int] = [token]
        for document, px in documents:
            args += [document, px]
        try:
            done = await self._commit_script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        if not done:
            log.warning("throttle lock lost before the state was saved")
            raise ThrottleUnavailable("throttle lock lost")

    async def _release(self, keys: list[str], token: str) -> None:
        try:
            await self._commit_script(keys=keys, args=[token] + ["", 0] * (len(keys) // 2))
        except (RedisError, OSError) as exc:  # the locks free themselves after lock_ttl
            log.warning("throttle lock not released: %s", type(exc).__name__)

    # -- helpers ----------------------------------------------------------------------

    async def _get(self, key: str) -> bytes | str | None:
        try:
            raw: bytes | str | None = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return raw

    async def _set(self, key: str, document: str, ttl: float) -> None:
        try:
            await self._redis.set(key, document, px=_px(ttl))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc


def _decode(decode: Callable[[bytes | str], _T], raw: bytes | str) -> _T:
    try:
        return decode(raw)
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        # fail closed: an unreadable count must not become a fresh one
        log.error("throttle state unreadable: %s", type(exc).__name__)
        raise ThrottleUnavailable("throttle state unreadable") from exc


def _unavailable(exc: BaseException) -> ThrottleUnavailable:
    # never log the account or source: client input, and personal data
    log.warning("throttle store unavailable: %s", type(exc).__name__)
    return ThrottleUnavailable(f"throttle store unavailable: {type(exc).__name__}")


@dataclass(slots=True)
class _Held:
    """The states read when the locks were taken, and the saves to write on release."""

    account: str
    source: str | None
    raw: list[Any]
    saved_account: tuple[str, int] | None = None
    saved_source: tuple[str, int] | None = None

    def _check(self, name: str, held: str | None) -> None:
        if name != held:
            raise ValueError("this state is not held")

    async def load_account(self, account: str) -> AccountState | None:
        self._check(account, self.account)
        raw = self.raw[0]
        return None if raw is None else _decode(decode_account, raw)

    async def load_source(self, source: str) -> SourceState | None:
        self._check(source, self.source)
        raw = self.raw[1]
        return None if raw is None else _decode(decode_source, raw)

    async def save_account(self, account: str, state: AccountState, ttl: float) -> None:
        self._check(account, self.account)
        self.saved_account = (encode_account(state), _px(ttl))

    async def save_source(self, source: str, state: SourceState, ttl: float) -> None:
        self._check(source, self.source)
        self.saved_source = (encode_source(state), _px(ttl))

    def documents(self) -> list[tuple[str, int]]:
        """Per held state, in key order: its document and PX, or ``("", 0)`` to keep it."""
        out = [self.saved_account or ("", 0)]
        if self.source is not None:
            out.append(self.saved_source or ("", 0))
        return out


if TYPE_CHECKING:
    from authgate.mfa.throttle import ThrottleStore

    def _is_a_throttle_store(store: RedisThrottleStore) -> ThrottleStore:
        return store  # mypy checks the protocol here
