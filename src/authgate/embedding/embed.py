"""Embedding authgate's store in an app: :class:`RuntimeMiddleware`.

``app.add_middleware(RuntimeMiddleware, settings=Settings())`` (or
``RuntimeMiddleware(app, Settings())``) opens a :class:`~authgate.runtime.Runtime` when the
ASGI server starts the app (lifespan startup), authenticates every HTTP request with the
runtime's scheme chain exactly as ``authgate serve`` does, and closes the runtime after
the app's own shutdown — flushing queued audit events and ``last_used_at`` times.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from authgate.embedding.middleware import AuthMiddleware
from authgate.http.asgi import ASGIApp, Message, Receive, Scope, Send
from authgate.http.proxies import TrustedProxies

if TYPE_CHECKING:
    from authgate.config import Settings
    from authgate.runtime import Runtime

__all__ = ["RUNTIME_SCOPE_KEY", "RuntimeMiddleware", "get_runtime"]

RUNTIME_SCOPE_KEY = "authgate.runtime"
log = logging.getLogger("authgate.embed")


def get_runtime(scope: Scope) -> Runtime:
    """The open :class:`~authgate.runtime.Runtime` that :class:`RuntimeMiddleware` serves."""
    runtime: Runtime | None = scope.get(RUNTIME_SCOPE_KEY)
    if runtime is None:
        raise RuntimeError("authgate.RuntimeMiddleware is not installed in front of this app")
    return runtime


class RuntimeMiddleware:
    """Open authgate's store with the app, authenticate with it, close it with the app.

    Needs an ASGI server that runs the lifespan protocol (uvicorn, hypercorn, Starlette's
    ``TestClient``): a request before startup is a 503. Each request carries the runtime
    under ``"authgate.runtime"`` (:func:`get_runtime`) and, like :class:`AuthMiddleware`,
    the caller's identity under ``"authgate.identity"``. Where the server supports ASGI
    lifespan state (uvicorn does) the runtime is also ``request.state.authgate_runtime``.
    """

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings
        self.runtime: Runtime | None = None
        self._auth: AuthMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if self._auth is None:
            if scope["type"] == "http":
                body = b'{"error":"starting"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            raise RuntimeError("authgate.RuntimeMiddleware: the lifespan has not started")
        scope[RUNTIME_SCOPE_KEY] = self.runtime
        await self._auth(scope, receive, send)

    async def open(self) -> Runtime:
        """Open the runtime (lifespan startup calls this); idempotent."""
        if self.runtime is None:
            from authgate.config import Settings
            from authgate.runtime import Runtime

            settings = self.settings if self.settings is not None else Settings.load()
            self.settings = settings
            runtime = await Runtime.open(settings)
            runtime.start_background()
            self.runtime = runtime
            self._auth = AuthMiddleware(
                self.app,
                runtime.chain,
                audit=runtime.audit,
                trusted_proxies=TrustedProxies(settings.trusted_proxies),
                max_credential_length=settings.max_credential_length,
                verified=runtime.verified,
            )
        return self.runtime

    async def close(self) -> None:
        """Close the runtime, writing queued audit events and last-used times; idempotent."""
        runtime, self.runtime, self._auth = self.runtime, None, None
        if runtime is not None:
            await runtime.close()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        startup = await receive()
        try:
            runtime = await self.open()
        except Exception as exc:
            log.exception("opening the authgate runtime failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        state = scope.get("state")
        if isinstance(state, dict):
            state["authgate_runtime"] = runtime
        pending: list[Message] = [startup]
        answered = False

        async def app_receive() -> Message:
            return pending.pop() if pending else await receive()

        async def app_send(message: Message) -> None:
            nonlocal answered
            answered = True
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.close()  # after the app's own shutdown, before the server exits
            elif message["type"] == "lifespan.startup.failed":
                await self.close()
            await send(message)

        try:
            await self.app(scope, app_receive, app_send)
        except Exception:
            if answered:
                await self.close()
                raise
            # an app without lifespan support: run ours alone
            log.debug("the app does not handle the lifespan protocol")
        else:
            if answered:
                await self.close()  # usually done already
                return
        await send({"type": "lifespan.startup.complete"})
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        await self.close()
        await send({"type": "lifespan.shutdown.complete"})
