"""RuntimeMiddleware's ASGI lifespan: open before the app's startup, close after its
shutdown, 503 before startup, apps without lifespan support, a failed open."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from authgate import RuntimeMiddleware, Settings, get_identity, get_runtime
from authgate.audit import BatchedAuditSink

Message = MutableMapping[str, Any]


class Lifespan:
    """Drives one ASGI lifespan: startup, then shutdown when asked."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.state: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: Message) -> None:
        self.sent.append(message)

    async def start(self) -> str:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self._send))
        await self.inbox.put({"type": "lifespan.startup"})
        return await self._answer()

    async def stop(self) -> str:
        await self.inbox.put({"type": "lifespan.shutdown"})
        answer = await self._answer()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)
        return answer

    async def _answer(self) -> str:
        for _ in range(1000):
            if self.sent:
                return str(self.sent.pop(0)["type"])
            if self.task is not None and self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise AssertionError("no lifespan answer")


async def http(app: Any, headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, Message]:
    sent: list[Message] = []
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "raw_path": b"/x",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("192.0.2.1", 1234),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], scope


class App:
    """An inner app with (or without) lifespan support that records what it saw."""

    def __init__(self, lifespan: bool = True) -> None:
        self.lifespan = lifespan
        self.events: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            if not self.lifespan:
                raise ValueError("no lifespan here")
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.events.append("app startup")
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.events.append("app shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        self.events.append(f"http identity={get_identity(scope)}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


async def test_opens_before_the_app_and_closes_after_it(tmp_path: Path) -> None:
    inner = App()
    middleware = RuntimeMiddleware(inner, settings(tmp_path))
    assert (await http(middleware))[0] == 503  # before startup
    driver = Lifespan(middleware)
    assert await driver.start() == "lifespan.startup.complete"
    runtime = middleware.runtime
    assert runtime is not None
    assert driver.state["authgate_runtime"] is runtime
    assert isinstance(runtime.audit, BatchedAuditSink)
    status, scope = await http(middleware)
    assert status == 200
    assert get_runtime(scope) is runtime
    assert inner.events == ["app startup", "http identity=None"]
    assert (await http(middleware, ((b"x-api-key", b"agk_wrong"),)))[0] == 401
    assert await driver.stop() == "lifespan.shutdown.complete"
    assert inner.events[-1] == "app shutdown"
    assert middleware.runtime is None
    assert (await http(middleware))[0] == 503


async def test_an_app_without_lifespan(tmp_path: Path) -> None:
    middleware = RuntimeMiddleware(App(lifespan=False), settings(tmp_path))
    driver = Lifespan(middleware)
    assert await driver.start() == "lifespan.startup.complete"
    assert (await http(middleware))[0] == 200
    assert await driver.stop() == "lifespan.shutdown.complete"
    assert middleware.runtime is None


async def test_a_failed_open_fails_the_startup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "secrets.json").write_text("not json")
    inner = App()
    driver = Lifespan(RuntimeMiddleware(inner, Settings(home=home)))
    assert await driver.start() == "lifespan.startup.failed"
    assert inner.events == []
