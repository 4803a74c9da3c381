"""The server's ASGI entry point.

Requests flow: fast path ``/healthz`` → :class:`AuthMiddleware` → fast path ``/v1/whoami``
→ body-size limit → FastAPI. Requests at the OAuth endpoints that authenticate clients
themselves (exactly ``/oauth/token``, ``/oauth/introspect``, ``/oauth/revoke``,
``/oauth/device_authorization`` as raw paths; RFC 6749 §2.3.1) skip the scheme chain:
:class:`OAuthEndpoints` applies the middleware's header checks and the policy, answers
``POST`` to the first three itself and passes the rest to the body-size limit and
FastAPI. The fast paths answer in plain ASGI because they are the hot endpoints (health
checks, credential checks, machine-to-machine token traffic); their FastAPI twins exist
for the OpenAPI document and answer identically. ``/verify`` and the paths below it go
to :class:`ForwardAuth`, which judges the original request a trusted proxy describes with
the same middleware and policy.
"""

from __future__ import annotations

import json
import logging

from authgate.config import Settings
from authgate.embedding.middleware import AuthMiddleware
from authgate.errors import NotFound, PayloadTooLarge
from authgate.http.asgi import (
    IDENTITY_SCOPE_KEY,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    send_error,
    send_response,
)
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.metrics import CONTENT_TYPE
from authgate.policy import PolicyMiddleware, load_policy
from authgate.ratelimit import RateLimitMiddleware
from authgate.runtime import Runtime
from authgate.server.api import create_api
from authgate.server.forward_auth import VERIFY_PATH, ForwardAuth, is_verify_path
from authgate.server.oauth_asgi import (
    OAuthEndpoints,
    client_authenticating_path,
    declared_too_large,
)

__all__ = ["AuthgateServer"]

log = logging.getLogger("authgate.server")

_JSON_HEADERS = (
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)
_HEALTH_BODY = b'{"status":"ok"}'
_MAX_API_BODY = 64 * 1024
# the prefixes of the endpoints that do not meet the scheme chain first: the OAuth
# endpoints that authenticate clients, forward auth
METRICS_PATH = "/metrics"
_OTHER_FRONTS = ("/oauth/", VERIFY_PATH, METRICS_PATH)


class AuthgateServer:
    """ASGI app: ``uvicorn.run(AuthgateServer(settings))``, or drive it in tests.

    Opens its :class:`Runtime` on ASGI lifespan startup (or :meth:`startup`), closes it
    on shutdown, flushing audit events and last-used times.
    """

    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.runtime = runtime
        self.api = create_api(api_key_header=settings.api_key_header)
        self._auth: AuthMiddleware | None = None
        self._oauth: OAuthEndpoints | None = None
        self._verify: ForwardAuth | None = None
        self._metrics_networks = TrustedProxies(settings.metrics_networks)
        self._owns_runtime = runtime is None
        self._bodies: dict[int, tuple[Identity, bytes]] = {}
        if runtime is not None:
            self._wire(runtime)

    def _wire(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.api.state.runtime = runtime
        # the 401 of the FastAPI routes' Caller carries the chain's challenges
        self.api.state.authgate_challenges = runtime.chain.challenges
        policy = (
            load_policy(self.settings.policy_file)
            if self.settings.policy_file is not None
            else None
        )

        def decide(app: ASGIApp) -> ASGIApp:
            """The policy, then its rate limits, in front of ``app`` (nothing without one)."""
            if policy is None:
                return app
            if runtime.limiter is not None and any(r.limits for r in policy.routes):
                app = RateLimitMiddleware(
                    app,
                    runtime.limiter,
                    fail_open=self.settings.rate_limit_fail_open,
                    metrics=runtime.metrics,
                )
            return PolicyMiddleware(
                app, policy, challenges=runtime.chain.challenges, audit=runtime.audit
            )

        after = decide(self._after_auth)
        proxies = TrustedProxies(self.settings.trusted_proxies)

        def authenticate(app: ASGIApp) -> AuthMiddleware:
            return AuthMiddleware(
                app,
                runtime.chain,
                audit=runtime.audit,
                trusted_proxies=proxies,
                max_credential_length=self.settings.max_credential_length,
                verified=runtime.verified,
                metrics=runtime.metrics,
            )

        self._auth = authenticate(after)
        self._verify = ForwardAuth(
            lambda answer: authenticate(decide(answer)),
            unauthorized=runtime.chain.unauthorized,
            proxies=proxies,
            audit=runtime.audit,
        )
        self._oauth = OAuthEndpoints(
            runtime,
            auth=self._auth,
            after=self._after_auth,
            policy=policy,
            max_body=_MAX_API_BODY,
        )

    async def startup(self) -> None:
        if self.runtime is None:
            self._wire(await Runtime.open(self.settings))
        assert self.runtime is not None  # noqa: S101 - set by _wire
        self.runtime.start_background()

    async def shutdown(self) -> None:
        if self.runtime is not None and self._owns_runtime:
            await self.runtime.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path == "/healthz" and scope["method"] in ("GET", "HEAD"):
                await send_response(send, 200, _JSON_HEADERS, _HEALTH_BODY)
                return
            if self._auth is None or self._oauth is None:
                await send_response(send, 503, _JSON_HEADERS, b'{"error":"starting"}')
                return
            if path.startswith(_OTHER_FRONTS):  # every other request (the hot path) stops here
                if client_authenticating_path(scope) is not None:
                    await self._oauth(scope, receive, send)
                    return
                if self._verify is not None and is_verify_path(path):
                    await self._verify(scope, receive, send)
                    return
                if path == METRICS_PATH and self.runtime is not None:
                    await self._metrics(scope, send, self.runtime)
                    return
            await self._auth(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.api(scope, receive, send)

    async def _after_auth(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/v1/whoami" and scope["method"] in ("GET", "HEAD"):
            identity: Identity | None = scope.get(IDENTITY_SCOPE_KEY)
            if identity is None:
                assert self.runtime is not None  # noqa: S101 - wired before auth runs
                await send_error(send, self.runtime.chain.unauthorized())
                return
            hit = self._bodies.get(id(identity))
            body = hit[1] if hit is not None and hit[0] is identity else self._whoami(identity)
            await send_response(send, 200, _JSON_HEADERS, body)
            return
        if declared_too_large(scope, _MAX_API_BODY):
            await send_error(send, PayloadTooLarge("The request body is too large."))
            return
        await self.api(scope, _limit_body(receive), send)

    def _whoami(self, identity: Identity) -> bytes:
        """Encode ``identity``'s whoami body and keep it: the verified-identity cache hands
        out the same object for every request with its credential."""
        body = json.dumps(identity.as_json(), separators=(",", ":")).encode()
        if len(self._bodies) >= 10_000:
            self._bodies.clear()
        self._bodies[id(identity)] = (identity, body)
        return body

    async def _metrics(self, scope: Scope, send: Send, runtime: Runtime) -> None:
        """Prometheus metrics, for ``metrics_networks`` only (the direct peer: a proxy's
        headers never open them); anyone else gets the 404 of a path that is not there."""
        client = scope.get("client")
        if scope["method"] not in ("GET", "HEAD") or not self._metrics_networks.is_trusted(
            client[0] if client else None
        ):
            await send_error(send, NotFound("No such endpoint."))
            return
        headers = [(b"content-type", CONTENT_TYPE.encode()), (b"cache-control", b"no-store")]
        await send_response(send, 200, headers, runtime.metrics.registry.render())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _limit_body(receive: Receive, limit: int = _MAX_API_BODY) -> Receive:
    """Stop reading a streamed body past ``limit`` bytes (declared sizes are checked first)."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise PayloadTooLarge("The request body is too large.")
        return message

    return limited
