"""Pure-ASGI rate limiting, placed inside :class:`~authgate.policy.PolicyMiddleware`.

The policy puts its :class:`~authgate.policy.evaluate.Decision` in the scope; the deciding
route's limits (``rate_limit`` in the policy file: one table, or several to combine) are
counted here, each per what its ``key`` names:

- ``credential``: the key, key pair, client or certificate used (a password: the user);
- ``principal``: the user, whatever credential they use;
- ``ip``: the trusted client address (``X-Forwarded-For`` only from trusted proxies);
- ``route``: everyone together.

An anonymous request is counted per client address under ``credential`` and
``principal``, so sending no credentials is no way around a limit. Each limit counts
per route: the same key has its own budget on another route.

An allowed response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` (draft-ietf-httpapi-ratelimit-headers) of the tightest limit; a
refused request gets 429 ``rate_limited`` with ``Retry-After`` and the same headers.
When the store (Redis) cannot answer, ``fail_open`` decides: let the request through
or refuse it with 503 and ``Retry-After`` — never a 500. Either way it is logged and
counted (:attr:`RateLimitMiddleware.store_failures`, and the
``authgate_ratelimit_decisions_total{decision="store_error"}`` metric).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from authgate.errors import RateLimited
from authgate.http import asgi
from authgate.identity import Identity
from authgate.kv.store import StoreUnavailable, hashed
from authgate.metrics import AuthgateMetrics
from authgate.policy.evaluate import Decision
from authgate.policy.middleware import DECISION_SCOPE_KEY
from authgate.policy.model import RateLimit
from authgate.ratelimit.gcra import RateLimiter, Verdict

__all__ = ["RateLimitMiddleware", "limit_key"]

log = logging.getLogger("authgate.ratelimit")


def limit_key(
    limit: RateLimit, route: str | None, identity: Identity | None, client_ip: str | None
) -> str:
    """The store key ``limit`` counts this request under (hashed: no client input in it)."""
    kind = limit.key
    if kind == "route":
        who = ""
    elif kind == "ip" or identity is None or identity.scheme == "anonymous":
        kind, who = "ip", client_ip or "unknown"
    elif kind == "principal":
        who = identity.principal_id
    else:
        who = identity.credential_id or "principal:" + identity.principal_id
    return "ratelimit:" + hashed(f"{route or ''}\0{limit.rate}\0{kind}\0{who}")


def _headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(verdict.limit).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset).encode()),
    ]


@dataclass
class RateLimitMiddleware:
    """Enforce the deciding policy route's rate limits.

    Attributes:
        app: the ASGI app behind the limits.
        limiter: the GCRA limiter on the shared store.
        fail_open: when the store cannot answer, let requests through (True) or refuse
            them with 503 (False, the default: a limit that silently stops holding is a
            limit nobody can rely on).
        metrics: where decisions are counted, if anywhere.
        store_failures: how often the store could not answer.
    """

    app: asgi.ASGIApp
    limiter: RateLimiter
    fail_open: bool = False
    metrics: AuthgateMetrics | None = None
    store_failures: int = 0

    def _count_decision(self, decision: str) -> None:
        if self.metrics is not None:
            self.metrics.ratelimit.inc(decision)

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        decision: Decision | None = scope.get(DECISION_SCOPE_KEY)
        if scope["type"] != "http" or decision is None or not decision.rate_limits:
            await self.app(scope, receive, send)
            return
        try:
            verdicts = await self._count(scope, decision.route, decision.rate_limits)
        except StoreUnavailable as error:
            self.store_failures += 1
            self._count_decision("store_error")
            if self.fail_open:
                log.warning("rate limits not counted (fail open): %s", error.reason)
                await self.app(scope, receive, send)
                return
            log.warning("request refused: rate limits cannot be counted: %s", error.reason)
            await asgi.send_error(send, error)
            return
        refused = [v for v in verdicts if not v.allowed]
        self._count_decision("refused" if refused else "allowed")
        if refused:
            worst = max(refused, key=lambda v: v.retry_after)
            headers = [(k.decode(), v.decode()) for k, v in _headers(worst)]
            await asgi.send_error(
                send,
                RateLimited(
                    "Too many requests: slow down and retry after the time given.",
                    headers=[("retry-after", str(max(1, worst.retry_after))), *headers],
                ),
            )
            return
        extra = _headers(min(verdicts, key=lambda v: v.remaining))

        async def send_with_headers(message: asgi.Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _count(
        self, scope: asgi.Scope, route: str | None, limits: Sequence[RateLimit]
    ) -> list[Verdict]:
        identity = asgi.get_identity(scope)
        client_ip: str | None = scope.get(asgi.CLIENT_IP_SCOPE_KEY)
        if client_ip is None:
            client = scope.get("client")
            client_ip = client[0] if client else None
        return [
            await self.limiter.hit(limit_key(limit, route, identity, client_ip), limit)
            for limit in limits
        ]
