"""Where throttle state lives: one key per account and per source on an expiring store.

Implements :class:`~authgate.mfa.throttle.ThrottleStore` on any
:class:`~authgate.kv.store.ExpiringStore`: :class:`MemoryThrottleStore` for one instance,
:class:`~authgate.cache.redis_throttle.RedisThrottleStore` for every instance sharing
Redis, so the limits hold for the deployment and an attacker spraying guesses over
several instances gets the same budget as against one.

**State.** One key per account (``a:`` + SHA-256 of the account) and one per source
(``s:`` + SHA-256 of the client IP), each a small JSON document of
:class:`~authgate.mfa.throttle.AccountState` or :class:`~authgate.mfa.throttle.SourceState`
with a TTL, so the store drops it when the throttle would have forgotten it anyway. Names
are client-chosen, hence hashed: key length is fixed and nothing a client sends shapes
key space.

**Atomicity.** :meth:`ExpiringThrottleStore.lock` holds the account's and the source's
keys with :meth:`~authgate.kv.store.ExpiringStore.hold` — exclusive across everyone
sharing the store, the saves written all or nothing when the block ends.

**Failure mode: closed.** A store that cannot answer raises its
:class:`~authgate.kv.store.StoreUnavailable` (:class:`ThrottleUnavailable` for the Redis
store); a stored document that cannot be read raises :class:`ThrottleUnavailable` too —
an unreadable count must not become a fresh one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from authgate.kv.memory import MemoryStore
from authgate.kv.store import ExpiringStore, Held, hashed
from authgate.mfa.throttle import AccountState, Lane, SourceState, ThrottleStates
from authgate.replay import ReplayCacheUnavailable

__all__ = [
    "ExpiringThrottleStore",
    "MemoryThrottleStore",
    "ThrottleUnavailable",
    "decode_account",
    "decode_source",
    "encode_account",
    "encode_source",
]

_VERSION = 1
_T = TypeVar("_T")
log = logging.getLogger("authgate.mfa")


class ThrottleUnavailable(ReplayCacheUnavailable):
    """The shared throttle state could not be read or written: the attempt is refused.

    503 ``temporarily_unavailable`` with ``Retry-After: 1`` (RFC 6749 §4.1.2.1), the
    answer of the other Redis-backed stores when Redis is down (fail closed).
    """


# -- documents ---------------------------------------------------------------------------


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


def _decode(decode: Callable[[bytes | str], _T], raw: bytes | None) -> _T | None:
    if raw is None:
        return None
    try:
        return decode(raw)
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        # fail closed: an unreadable count must not become a fresh one
        log.error("throttle state unreadable: %s", type(exc).__name__)
        raise ThrottleUnavailable("throttle state unreadable") from exc


def account_name(account: str) -> str:
    """The store key of an account's state: ``a:`` + hex SHA-256 of the account."""
    return "a:" + hashed(account)


def source_name(source: str) -> str:
    """The store key of a source's state: ``s:`` + hex SHA-256 of the source."""
    return "s:" + hashed(source)


# -- the stores --------------------------------------------------------------------------


class ExpiringThrottleStore:
    """:class:`~authgate.mfa.throttle.ThrottleStore` on an expiring store.

    Args:
        store: where the states live; two throttles with separate budgets (the login
            and the MFA throttle) use two stores (or two prefixes of one Redis).
    """

    def __init__(self, store: ExpiringStore) -> None:
        self._store = store

    async def load_account(self, account: str) -> AccountState | None:
        """The account's state, or None when there is none (or it expired)."""
        return _decode(decode_account, await self._store.get(account_name(account)))

    async def save_account(self, account: str, state: AccountState, ttl: float) -> None:
        """Store the account's state for ``ttl`` seconds."""
        await self._store.set(account_name(account), encode_account(state).encode(), ttl)

    async def load_source(self, source: str) -> SourceState | None:
        """The source's state, or None."""
        return _decode(decode_source, await self._store.get(source_name(source)))

    async def save_source(self, source: str, state: SourceState, ttl: float) -> None:
        """Store the source's state for ``ttl`` seconds."""
        await self._store.set(source_name(source), encode_source(state).encode(), ttl)

    @asynccontextmanager
    async def lock(self, account: str, source: str | None) -> AsyncIterator[ThrottleStates]:
        """Hold the account and the source; yields their states, saved when the block ends.

        The yielded view loads the states read when the hold was taken and keeps the
        saves; a block that ends normally writes them (all or nothing), one that raises
        writes nothing.

        Raises:
            StoreUnavailable: the store did not answer, or could not hold the keys.
        """
        names = [account_name(account)] + ([source_name(source)] if source else [])
        async with self._store.hold(names) as held:
            yield _HeldStates(held, account, source or None)


class MemoryThrottleStore(ExpiringThrottleStore):
    """Throttle state of one instance, entries dropped after their TTL."""

    def __init__(self, clock: Callable[[], float] = time.time, *, max_entries: int = 100_000):
        super().__init__(MemoryStore(clock, max_entries=max_entries))


class _HeldStates:
    """The held states of one account and source, as :class:`ThrottleStates`."""

    def __init__(self, held: Held, account: str, source: str | None) -> None:
        self._held = held
        self._account = account
        self._source = source

    def _check(self, name: str, held: str | None) -> None:
        if name != held:
            raise ValueError("this state is not held")

    async def load_account(self, account: str) -> AccountState | None:
        self._check(account, self._account)
        return _decode(decode_account, self._held.get(account_name(account)))

    async def load_source(self, source: str) -> SourceState | None:
        self._check(source, self._source)
        return _decode(decode_source, self._held.get(source_name(source)))

    async def save_account(self, account: str, state: AccountState, ttl: float) -> None:
        self._check(account, self._account)
        self._held.set(account_name(account), encode_account(state).encode(), ttl)

    async def save_source(self, source: str, state: SourceState, ttl: float) -> None:
        self._check(source, self._source)
        self._held.set(source_name(source), encode_source(state).encode(), ttl)
