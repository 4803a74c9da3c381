"""The port for short-lived shared state: keys that expire, changed atomically.

Replay nonces (:mod:`authgate.replay`), the token deny-list
(:mod:`authgate.tokens.revocation`) and the login throttles (:mod:`authgate.mfa.throttle`)
keep their state behind :class:`ExpiringStore`; :class:`~authgate.kv.memory.MemoryStore`
serves one process, :class:`~authgate.kv.redis_store.RedisStore` every instance sharing a
Redis database. Each operation is atomic on its own:

- :meth:`~ExpiringStore.add` — set if absent, with a TTL (a nonce seen once);
- :meth:`~ExpiringStore.get`, :meth:`~ExpiringStore.set`, :meth:`~ExpiringStore.delete`;
- :meth:`~ExpiringStore.hold` — hold some keys against every other user of the store,
  read them, and write them back all or nothing when the block ends (the throttle's
  load → decide → save);
- :meth:`~ExpiringStore.run` — one read-modify-write :class:`Script`, given both as Lua
  (run by Redis with ``EVALSHA``) and as Python (run by the memory store), for counters
  such as a rate limiter's.

Keys are the caller's strings (a Redis store puts its prefix in front); callers hash
client-chosen names with :func:`hashed` so that no client input shapes key space. A store
that cannot answer raises :class:`StoreUnavailable` (503, fail closed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from authgate.errors import AuthError

__all__ = [
    "Arg",
    "ExpiringStore",
    "Held",
    "HeldKeys",
    "Local",
    "Script",
    "StoreUnavailable",
    "hashed",
]


#: A script argument.
Arg = str | int | float


class StoreUnavailable(AuthError):
    """The shared store could not answer, so the request is refused (fail closed).

    ``temporarily_unavailable`` is RFC 6749 §4.1.2.1's code for a server that cannot
    handle the request for now; ``Retry-After`` tells clients when to try again.
    """

    status = 503
    code = "temporarily_unavailable"
    default_description = "The service is temporarily unavailable."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason, headers=[("retry-after", "1")])


def hashed(name: str) -> str:
    """Hex SHA-256 of ``name``'s UTF-8 bytes: a fixed-length key part for client input."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


class Local(Protocol):
    """The memory store as a :class:`Script`'s Python side sees it (no awaits: atomic)."""

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, value: bytes, ttl: float) -> None: ...

    def erase(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Script:
    """One atomic read-modify-write, written twice: Lua for Redis, Python for memory.

    Attributes:
        lua: the script Redis runs (``KEYS`` are the prefixed keys, ``ARGV`` the args).
        python: the same logic over the memory store: ``(local, keys, args) -> result``.
    """

    lua: str
    python: Callable[[Local, Sequence[str], Sequence[Arg]], Any]


class Held(Protocol):
    """The keys :meth:`ExpiringStore.hold` holds: read when taken, written on release."""

    def get(self, key: str) -> bytes | None:
        """The value ``key`` had when the hold was taken (only held keys)."""
        ...

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Write ``value`` for ``ttl`` seconds when the block ends (only held keys)."""
        ...


class HeldKeys:
    """:class:`Held` as both stores give it: the values when taken, the writes to make."""

    def __init__(self, values: dict[str, bytes | None]) -> None:
        self.values = values
        self.writes: dict[str, tuple[bytes, float]] = {}

    def _check(self, key: str) -> None:
        if key not in self.values:
            raise ValueError("this key is not held")

    def get(self, key: str) -> bytes | None:
        self._check(key)
        return self.values[key]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._check(key)
        self.writes[key] = (value, ttl)


class ExpiringStore(Protocol):
    """Short-lived state shared by everyone using the store (``ttl`` in seconds)."""

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set ``key`` unless it exists; True if it was set."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None when it is absent or expired."""
        ...

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Set ``key`` for ``ttl`` seconds, replacing any value."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...

    def hold(self, keys: Sequence[str]) -> AbstractAsyncContextManager[Held]:
        """Hold ``keys`` against every other user of the store for the block.

        Exclusive across everyone sharing the store, so a read → write under it cannot
        lose another's update. The writes are made when the block ends normally, all
        or nothing; a block that raises writes nothing.
        """
        ...

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run ``script`` on ``keys`` atomically; its result."""
        ...
