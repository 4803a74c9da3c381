"""Throttle state shared across instances: failed code and password checks in Redis.

:class:`~authgate.mfa.throttle_store.ExpiringThrottleStore` on a
:class:`~authgate.kv.redis_store.RedisStore`, so the limits of :mod:`authgate.mfa.throttle`
— at most 100 failures per account per window across all IPs, a reserve for known
sources, a per-IP cap (NIST SP 800-63B §5.2.2; RFC 4226 §7.3, RFC 6238 §5.1) — hold for
the deployment, not per instance.

Keys: ``prefix`` + ``a:`` + SHA-256 of the account, ``prefix`` + ``s:`` + SHA-256 of the
source, each a JSON document with ``PX``; a lock is ``prefix`` + ``lock:`` + the rest of
the key it guards. The two locks of an attempt are taken together by one Lua script and
the saves written, fenced by the lock tokens, by another (see
:mod:`authgate.kv.redis_store`).

**Failure mode: closed.** When Redis cannot answer, when the locks cannot be had within
``lock_timeout`` or were lost before the save, or when a stored document is unreadable,
the store raises :class:`ThrottleUnavailable` (503 ``temporarily_unavailable``), so
:meth:`~authgate.mfa.throttle.LoginThrottle.acquire` refuses the attempt before any
password or code is checked: no guess is ever made without being counted.
:meth:`~authgate.mfa.throttle.LoginThrottle.succeeded` treats it as a lost refund: the
account stays stricter, the user's verified factor stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authgate.kv.redis_store import RedisStore
from authgate.mfa.throttle_store import (
    ExpiringThrottleStore,
    ThrottleUnavailable,
    account_name,
    source_name,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisThrottleStore", "ThrottleUnavailable"]

DEFAULT_PREFIX = "authgate:throttle:"


class RedisThrottleStore(ExpiringThrottleStore):
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
        self._redis_store = RedisStore(
            redis,
            prefix=prefix,
            unavailable=ThrottleUnavailable,
            name="throttle store",
            lock_ttl=lock_ttl,
            lock_timeout=lock_timeout,
        )
        super().__init__(self._redis_store)
        self.prefix = prefix

    def account_key(self, account: str) -> str:
        """``prefix`` + ``a:`` + hex SHA-256 of the account."""
        return self._redis_store.key(account_name(account))

    def source_key(self, source: str) -> str:
        """``prefix`` + ``s:`` + hex SHA-256 of the source."""
        return self._redis_store.key(source_name(source))

    def lock_key(self, state_key: str) -> str:
        """The lock guarding ``state_key``: ``prefix`` + ``lock:`` + the rest of it."""
        return self._redis_store.lock_key(state_key[len(self.prefix) :])


if TYPE_CHECKING:
    from authgate.mfa.throttle import ThrottleStore

    def _is_a_throttle_store(store: RedisThrottleStore) -> ThrottleStore:
        return store  # mypy checks the protocol here
