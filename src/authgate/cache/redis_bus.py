"""Cache invalidation across instances over Redis pub/sub.

Each instance caches verified credentials for a few seconds (:mod:`authgate.accounts.caches`,
:mod:`authgate.schemes.fastpath`). When a key is revoked or rotated, or a user is
disabled or changes password, the instance that made the change drops its own entries
and :meth:`RedisInvalidationBus.publish`\\ es ``(kind, id)``; every other instance's
handler drops theirs at once instead of waiting for the TTL.

Messages are JSON ``{"v": 1, "src": <instance id>, "kind": ..., "id": ...}``. An
instance ignores its own messages (it has already invalidated locally) and anything
malformed. Pub/sub is fire-and-forget: a message sent while an instance is disconnected
is lost, so after every reconnection the handler is called with ``("all", "")`` — drop
everything — and the TTL bounds staleness while Redis is down. Whoever can publish on
the channel can only make caches drop entries (a cost, never a grant).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal, get_args

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

__all__ = ["DEFAULT_CHANNEL", "InvalidationHandler", "Kind", "RedisInvalidationBus"]

# "change": a row was appended to the revocation log; read it now (authgate.cache.change_feed)
Kind = Literal["credential", "principal", "all", "change"]
InvalidationHandler = Callable[[Kind, str], Awaitable[None] | None]

DEFAULT_CHANNEL = "authgate:invalidate"
_KINDS: frozenset[str] = frozenset(get_args(Kind))
_MAX_MESSAGE = 4096
log = logging.getLogger("authgate.cache")


class RedisInvalidationBus:
    """Publish invalidations and deliver other instances' invalidations to a handler.

    Args:
        redis: an asyncio Redis client (shared pool; never closed here).
        channel: the pub/sub channel every instance of one deployment uses.
        instance_id: this instance's id in messages (random by default).
        reconnect_delay: seconds between attempts to resubscribe after a failure.
        poll_interval: how long one read waits for a message; bounds how quickly
            :meth:`close` and health checks get a turn.
    """

    def __init__(
        self,
        redis: Redis,
        channel: str = DEFAULT_CHANNEL,
        *,
        instance_id: str | None = None,
        reconnect_delay: float = 1.0,
        poll_interval: float = 1.0,
    ) -> None:
        self._redis = redis
        self.channel = channel
        self.instance_id = instance_id or secrets.token_hex(8)
        self._reconnect_delay = reconnect_delay
        self._poll = poll_interval
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._reconnected = False

    @property
    def subscribed(self) -> bool:
        """True while the subscription is confirmed by Redis."""
        return self._subscribed.is_set()

    async def publish(self, kind: Kind, id: str) -> int:
        """Tell the other instances to drop what they cache for ``(kind, id)``.

        Returns:
            The number of subscribers Redis delivered to (this instance included).

        Raises:
            ValueError: unknown ``kind``.
            redis.exceptions.RedisError: Redis did not take the message.
        """
        if kind not in _KINDS:
            raise ValueError(f"unknown invalidation kind {kind!r}")
        data = json.dumps(
            {"v": 1, "src": self.instance_id, "kind": kind, "id": id}, separators=(",", ":")
        )
        receivers: int = await self._redis.publish(self.channel, data)
        return receivers

    def notify(self, kind: Kind, id: str) -> None:
        """:meth:`publish` from synchronous code (the services' change callbacks).

        Schedules the publish on the running loop; a failure is logged, not raised: the
        change itself is already durable, and other instances' TTLs bound staleness.
        """
        task = asyncio.get_running_loop().create_task(self._publish_logged(kind, id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish_logged(self, kind: Kind, id: str) -> None:
        try:
            await self.publish(kind, id)
        except (RedisError, OSError) as exc:
            log.warning("invalidation not published (%s): %s", kind, type(exc).__name__)

    async def run(self, handler: InvalidationHandler) -> None:
        """Subscribe and call ``handler(kind, id)`` for other instances' messages, forever.

        Reconnects after failures; after each reconnection calls ``handler("all", "")``
        because messages sent meanwhile are lost. Cancel the task (or :meth:`close`) to stop.
        """
        connected_before = False
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    await self._await_confirmation(pubsub)
                    if pubsub.connection is not None:
                        # redis-py reconnects and resubscribes by itself after a dropped
                        # connection; hear about it, since messages may have been missed
                        pubsub.connection.register_connect_callback(self._on_reconnect)
                    if connected_before:
                        await _call_logged(handler, "all", "")
                    connected_before = True
                    self._subscribed.set()
                    await self._listen(pubsub, handler)
            except (RedisError, OSError) as exc:
                log.warning("invalidation bus disconnected: %s", type(exc).__name__)
            finally:
                self._subscribed.clear()
            await asyncio.sleep(self._reconnect_delay)

    async def _listen(self, pubsub: PubSub, handler: InvalidationHandler) -> None:
        self._reconnected = False
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self._poll)
            if message is not None and message.get("type") == "message":
                await self._dispatch(handler, message.get("data"))
            if self._reconnected:
                self._reconnected = False
                log.warning("invalidation bus reconnected; dropping every cached entry")
                await _call_logged(handler, "all", "")

    async def _on_reconnect(self, connection: object) -> None:
        self._reconnected = True

    async def _await_confirmation(self, pubsub: PubSub) -> None:
        # SUBSCRIBE is acknowledged asynchronously; until the ack arrives a publish from
        # another connection may not reach us, so "subscribed" means "acknowledged".
        while True:
            message = await pubsub.get_message(timeout=self._poll)
            if message is not None and message.get("type") == "subscribe":
                return

    async def _dispatch(self, handler: InvalidationHandler, data: object) -> None:
        parsed = _parse(data)
        if parsed is None:
            log.warning("ignored a malformed invalidation message")
            return
        src, kind, ident = parsed
        if src != self.instance_id:
            await _call_logged(handler, kind, ident)

    async def start(self, handler: InvalidationHandler, *, timeout: float = 5.0) -> None:
        """Run :meth:`run` in the background; return once the subscription is confirmed.

        Raises:
            RuntimeError: already started.
            TimeoutError: not subscribed within ``timeout`` seconds (the task is stopped).
        """
        if self._task is not None:
            raise RuntimeError("the invalidation bus is already running")
        self._task = asyncio.create_task(self.run(handler), name="authgate-invalidation-bus")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except TimeoutError:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop listening and wait for pending publishes; the Redis client stays open."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


async def _call_logged(handler: InvalidationHandler, kind: Kind, ident: str) -> None:
    try:
        result = handler(kind, ident)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a handler bug must not stop later invalidations
        log.exception("invalidation handler failed")


def _parse(data: object) -> tuple[str, Kind, str] | None:
    """``(src, kind, id)`` from a message body, or None when it is not one of ours."""
    if isinstance(data, bytes | bytearray):
        if len(data) > _MAX_MESSAGE:
            return None
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(data, str) or len(data) > _MAX_MESSAGE:
        return None
    try:
        obj = json.loads(data)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("v") != 1:
        return None
    src, kind, ident = obj.get("src"), obj.get("kind"), obj.get("id")
    if not (isinstance(src, str) and isinstance(ident, str) and kind in _KINDS):
        return None
    return src, kind, ident
