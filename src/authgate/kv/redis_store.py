""":class:`~authgate.kv.store.ExpiringStore` on Redis, shared by every instance.

Imported only when Redis is configured (the ``redis`` extra). Every key is the store's
``prefix`` + the caller's key; values are written with ``PX`` (whole milliseconds,
rounded up, so nothing expires early).

**Holding keys** (:meth:`RedisStore.hold`): one Redis lock per key (``prefix`` + ``lock:``
+ key), taken together or not at all by one Lua script (``SET lock token PX`` unless any
exists), which also returns the held values: one round trip. It is retried with jitter
for up to ``lock_timeout``; tasks of one process queue on an in-process lock first, so
only one of them polls Redis. The writes made under the hold are sent when the block
ends to a second script that checks every lock still holds this holder's token, then
writes the values and deletes the locks — all or nothing, one round trip. A holder
stalled past ``lock_ttl`` therefore cannot overwrite a newer value, and nobody ever frees
a lock that is not theirs. (The scripts touch several keys together: one Redis server or
a primary with replicas, not Redis Cluster.)

**Scripts** (:meth:`RedisStore.run`) are registered once and run with ``EVALSHA``.

**Failure mode: closed.** When Redis cannot answer (down, timeout, refused), when the
locks cannot be had within ``lock_timeout`` or were lost before the writes, the store
raises its ``unavailable`` error (a :class:`~authgate.kv.store.StoreUnavailable`, 503).
Give the client a ``socket_timeout`` (:func:`~authgate.cache.redis_client.open_redis`
does) so a hung Redis refuses requests quickly. Keys and values are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from authgate.kv.store import Arg, Held, HeldKeys, Script, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["RedisStore", "px"]

log = logging.getLogger("authgate.kv")
_jitter = random.SystemRandom()

# KEYS: lock, key, [lock, key, ...]; ARGV: token, lock PX milliseconds.
# Takes every lock or none; returns the values (nil when taken by someone else).
_TAKE = """
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return nil end
end
local values = {}
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  values[#values + 1] = redis.call('GET', KEYS[i + 1])
end
return values
"""
# KEYS: lock, key, [lock, key, ...]; ARGV: token, then per pair a value ('' = keep) and
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


def px(ttl: float) -> int:
    """Whole, positive milliseconds, rounded up: state never expires early."""
    return max(1, math.ceil(ttl * 1000))


def _bytes(value: bytes | str | None) -> bytes | None:
    """A value as bytes, also from a client made with ``decode_responses=True``."""
    return value.encode() if isinstance(value, str) else value


@dataclass(slots=True)
class _Waiters:
    lock: asyncio.Lock
    count: int = 0


class RedisStore:
    """Expiring keys in Redis under ``prefix``, shared by every instance.

    Args:
        redis: an asyncio Redis client (shared pool; never closed here).
        prefix: put before every key; users that must see each other's keys share it.
        unavailable: the error raised when Redis cannot answer (the caller's subclass
            of :class:`~authgate.kv.store.StoreUnavailable`).
        name: what the store holds, for log lines and error reasons (``replay cache``).
        lock_ttl: seconds after which a hold whose holder vanished frees itself.
        lock_timeout: seconds :meth:`hold` waits for the locks before giving up.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        unavailable: type[StoreUnavailable] = StoreUnavailable,
        name: str = "store",
        lock_ttl: float = 5.0,
        lock_timeout: float = 2.0,
    ) -> None:
        if lock_ttl <= 0 or lock_timeout <= 0:
            raise ValueError("lock_ttl and lock_timeout must be positive")
        self._redis = redis
        self.prefix = prefix
        self._unavailable = unavailable
        self._name = name
        self._lock_px = px(lock_ttl)
        self._lock_timeout = lock_timeout
        self._waiters: dict[str, _Waiters] = {}
        self._scripts: dict[str, AsyncScript] = {}

    def key(self, key: str) -> str:
        """The Redis key of ``key``: ``prefix`` + ``key``."""
        return self.prefix + key

    def lock_key(self, key: str) -> str:
        """The Redis lock guarding ``key``: ``prefix`` + ``lock:`` + ``key``."""
        return f"{self.prefix}lock:{key}"

    def error(self, exc: BaseException) -> StoreUnavailable:
        """The ``unavailable`` error for a Redis failure (logged by type, never keys)."""
        log.warning("%s unavailable: %s", self._name, type(exc).__name__)
        return self._unavailable(f"{self._name} unavailable: {type(exc).__name__}")

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        try:
            return bool(await self._redis.set(self.key(key), value, nx=True, px=px(ttl)))
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc

    async def get(self, key: str) -> bytes | None:
        try:
            value: bytes | str | None = await self._redis.get(self.key(key))
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc
        return _bytes(value)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self.key(key), value, px=px(ttl))
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self.key(key))
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        try:
            return await self._script(script.lua)(keys=[self.key(k) for k in keys], args=list(args))
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc

    # -- holding keys -------------------------------------------------------------------

    @asynccontextmanager
    async def hold(self, keys: Sequence[str]) -> AsyncIterator[Held]:
        """Hold ``keys``; yields their values, written back when the block ends.

        Raises:
            StoreUnavailable: (the ``unavailable`` subclass) Redis did not answer, the
                locks were not had within ``lock_timeout``, or they were lost before
                the writes were made.
        """
        pairs = [k for key in keys for k in (self.lock_key(key), self.key(key))]
        token = secrets.token_hex(16)
        deadline = asyncio.get_running_loop().time() + self._lock_timeout
        async with AsyncExitStack() as stack:
            try:
                for key in keys:
                    async with asyncio.timeout_at(deadline):
                        await stack.enter_async_context(self._queue(self.lock_key(key)))
                values = await self._take(pairs, token, deadline)
            except TimeoutError as exc:
                log.warning("%s lock not acquired within %ss", self._name, self._lock_timeout)
                raise self._unavailable(f"{self._name} lock: timeout") from exc
            except (RedisError, OSError) as exc:
                raise self.error(exc) from exc
            held = HeldKeys({key: _bytes(value) for key, value in zip(keys, values, strict=True)})
            committed = False
            try:
                yield held
                await self._commit(pairs, token, [held.writes.get(key) for key in keys])
                committed = True
            finally:
                if not committed:
                    await self._release(pairs, token)

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

    def _script(self, lua: str) -> AsyncScript:
        registered = self._scripts.get(lua)
        if registered is None:
            registered = self._scripts[lua] = self._redis.register_script(lua)
        return registered

    async def _take(self, pairs: list[str], token: str, deadline: float) -> list[Any]:
        """Run the take script until it succeeds or ``deadline`` passes.

        The deadline is checked between attempts, never by cancelling a script in flight
        (which could leave locks nobody knows the token of until ``lock_ttl``).
        """
        loop = asyncio.get_running_loop()
        pause = 0.001
        take = self._script(_TAKE)
        while True:
            raw = await take(keys=pairs, args=[token, self._lock_px])
            if raw is not None:
                return list(raw)
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            await asyncio.sleep(min(left, _jitter.uniform(0, pause)))
            pause = min(pause * 2, 0.025)

    async def _commit(
        self, pairs: list[str], token: str, writes: list[tuple[bytes, float] | None]
    ) -> None:
        args: list[bytes | str | int] = [token]
        for write in writes:
            args += [write[0], px(write[1])] if write is not None else ["", 0]
        try:
            done = await self._script(_COMMIT)(keys=pairs, args=args)
        except (RedisError, OSError) as exc:
            raise self.error(exc) from exc
        if not done:
            log.warning("%s lock lost before the writes were made", self._name)
            raise self._unavailable(f"{self._name} lock lost")

    async def _release(self, pairs: list[str], token: str) -> None:
        try:
            await self._script(_COMMIT)(keys=pairs, args=[token] + ["", 0] * (len(pairs) // 2))
        except (RedisError, OSError) as exc:  # the locks free themselves after lock_ttl
            log.warning("%s lock not released: %s", self._name, type(exc).__name__)


if TYPE_CHECKING:
    from authgate.kv.memory import MemoryStore
    from authgate.kv.store import ExpiringStore

    def _is_an_expiring_store(store: RedisStore, memory: MemoryStore) -> list[ExpiringStore]:
        return [store, memory]  # mypy checks the protocol here
