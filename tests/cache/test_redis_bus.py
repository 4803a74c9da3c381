"""RedisInvalidationBus against the real Redis: other instances hear, the sender does not."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from tests._redis_support import test_redis
from tests.conftest import REDIS_URL

from authgate.cache.redis_bus import DEFAULT_CHANNEL, Kind, RedisInvalidationBus
from authgate.cache.redis_client import open_redis

pytestmark = pytest.mark.redis

WAIT = 5.0  # the bound on delivery asserted below


class Recorder:
    """A handler that records calls and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.calls: list[tuple[Kind, str]] = []
        self._changed = asyncio.Condition()

    async def __call__(self, kind: Kind, ident: str) -> None:
        async with self._changed:
            self.calls.append((kind, ident))
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[tuple[Kind, str]]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.calls) >= count), timeout
            )
        return list(self.calls)


@pytest.fixture
def channel() -> str:
    return f"authgate:test:{uuid.uuid4().hex}:invalidate"


@pytest.fixture
async def clients() -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    one, two = await test_redis(), await test_redis()  # two pools, as on two instances
    try:
        yield one, two
    finally:
        await one.aclose()
        await two.aclose()


async def test_publish_reaches_the_other_instance_not_the_sender(
    clients: tuple[aioredis.Redis, aioredis.Redis], channel: str
) -> None:
    a = RedisInvalidationBus(clients[0], channel, poll_interval=0.2)
    b = RedisInvalidationBus(clients[1], channel, poll_interval=0.2)
    heard_a, heard_b = Recorder(), Recorder()
    await a.start(heard_a)
    await b.start(heard_b)
    try:
        assert a.subscribed and b.subscribed
        assert a.instance_id != b.instance_id
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await a.publish("credential", "cred-1") == 2  # both subscribers got it
        assert await heard_b.wait_for(1) == [("credential", "cred-1")]
        assert loop.time() - started < WAIT
        await b.publish("principal", "user-7")
        await b.publish("all", "")
        assert await heard_a.wait_for(2) == [("principal", "user-7"), ("all", "")]
        await asyncio.sleep(0.3)
        # nobody hears their own messages: they invalidated locally already
        assert heard_b.calls == [("credential", "cred-1")]
        assert heard_a.calls == [("principal", "user-7"), ("all", "")]
    finally:
        await a.close()
        await b.close()
    assert not a.subscribed


async def test_sync_handlers_and_notify_from_sync_code(
    clients: tuple[aioredis.Redis, aioredis.Redis], channel: str
) -> None:
    a = RedisInvalidationBus(clients[0], channel, poll_interval=0.2)
    b = RedisInvalidationBus(clients[1], channel, poll_interval=0.2)
    heard: list[tuple[Kind, str]] = []
    arrived = asyncio.Event()

    def handler(kind: Kind, ident: str) -> None:  # e.g. StoreResolver.invalidate_*
        heard.append((kind, ident))
        arrived.set()

    await b.start(handler)
    try:
        a.notify("credential", "cred-9")  # what a sync on_credential_changed callback calls
        await asyncio.wait_for(arrived.wait(), WAIT)
        assert heard == [("credential", "cred-9")]
    finally:
        await a.close()  # waits for the pending publish
        await b.close()


async def test_ignores_malformed_and_foreign_messages_and_survives_handler_errors(
    clients: tuple[aioredis.Redis, aioredis.Redis], channel: str
) -> None:
    b = RedisInvalidationBus(clients[1], channel, poll_interval=0.2)
    seen: list[tuple[Kind, str]] = []

    async def handler(kind: Kind, ident: str) -> None:
        seen.append((kind, ident))
        if ident == "boom":
            raise RuntimeError("handler bug")

    await b.start(handler)
    try:
        raw = clients[0]
        for junk in (
            b"not json",
            b"\xff\xfe",
            b"[]",
            json.dumps({"v": 2, "src": "x", "kind": "all", "id": ""}),
            json.dumps({"v": 1, "src": "x", "kind": "everything", "id": "1"}),
            json.dumps({"v": 1, "src": "x", "kind": "credential", "id": 5}),
            json.dumps({"v": 1, "src": b.instance_id, "kind": "credential", "id": "spoof"}),
            b"x" * 10_000,
        ):
            await raw.publish(channel, junk)
        await raw.publish(channel, json.dumps({"v": 1, "src": "x", "kind": "all", "id": "boom"}))
        await raw.publish(channel, json.dumps({"v": 1, "src": "x", "kind": "principal", "id": "p"}))
        for _ in range(50):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.1)
        assert seen == [("all", "boom"), ("principal", "p")]
        assert b.subscribed  # the handler error did not stop the bus
    finally:
        await b.close()


async def test_publish_rejects_unknown_kinds(
    clients: tuple[aioredis.Redis, aioredis.Redis],
) -> None:
    bus = RedisInvalidationBus(clients[0])
    assert bus.channel == DEFAULT_CHANNEL == "authgate:invalidate"
    with pytest.raises(ValueError, match="unknown invalidation kind"):
        await bus.publish("everything", "1")  # type: ignore[arg-type]


async def test_start_twice_is_an_error(
    clients: tuple[aioredis.Redis, aioredis.Redis], channel: str
) -> None:
    bus = RedisInvalidationBus(clients[0], channel)
    await bus.start(Recorder())
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await bus.start(Recorder())
    finally:
        await bus.close()


async def test_start_fails_when_redis_is_down_and_publish_raises() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = open_redis(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    bus = RedisInvalidationBus(down, reconnect_delay=0.1)
    try:
        with pytest.raises(TimeoutError):
            await bus.start(Recorder(), timeout=0.5)
        assert not bus.subscribed
        with pytest.raises(RedisError):
            await bus.publish("credential", "c")
        bus.notify("credential", "c")  # logged, never raised into the caller
        await bus.close()
    finally:
        await down.aclose()


@pytest.mark.parametrize("retries", [0, 1], ids=["redis-py-gives-up", "redis-py-reconnects"])
async def test_after_a_lost_connection_the_handler_drops_everything(
    clients: tuple[aioredis.Redis, aioredis.Redis], channel: str, retries: int
) -> None:
    """Messages sent while disconnected are lost, so a reconnect means ("all", "")."""
    name = f"authgate-test-{uuid.uuid4().hex[:12]}"
    listener = aioredis.Redis.from_url(
        REDIS_URL, client_name=name, socket_timeout=2, retry=Retry(NoBackoff(), retries)
    )
    bus = RedisInvalidationBus(listener, channel, poll_interval=0.2, reconnect_delay=0.1)
    heard = Recorder()
    await bus.start(heard)
    try:
        # drop this bus's pub/sub connection from outside, as a Redis restart would
        # (only our own connection, found by its unique name: the server is shared)
        ours = [c for c in await clients[0].client_list() if c.get("name") == name]
        assert len(ours) == 1
        await clients[0].client_kill_filter(_id=ours[0]["id"])
        assert await heard.wait_for(1) == [("all", "")]
        for _ in range(50):
            if bus.subscribed:
                break
            await asyncio.sleep(0.1)
        assert bus.subscribed
        await RedisInvalidationBus(clients[1], channel).publish("credential", "after")
        assert await heard.wait_for(2) == [("all", ""), ("credential", "after")]
    finally:
        await bus.close()
        await listener.aclose()
