"""Readiness: every configured dependency answers within a bounded time.

``/readyz`` tells a load balancer whether this instance can serve requests. Liveness
(``/healthz``) says only that the process runs; readiness must also fail when a
dependency the request path needs is down — the database always, Redis when one is
configured (the replay cache and the throttles fail closed without it, so signed
requests would get 503 while the instance still looked ready).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from authgate.runtime import Runtime

__all__ = ["CHECK_TIMEOUT", "unavailable_dependencies"]

log = logging.getLogger("authgate.server")

# A hung dependency must not hang the probe: the prober's own timeout is typically 1-5 s.
CHECK_TIMEOUT = 2.0


async def _database(rt: Runtime) -> None:
    async with rt.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(rt: Runtime) -> None:
    assert rt.redis is not None  # noqa: S101 - only checked when configured
    await rt.redis.ping()


async def _answers(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except Exception as exc:  # any failure, timeout included, means "not ready"
        log.warning("readiness: %s is unavailable (%s)", name, type(exc).__name__)
        return False
    return True


async def unavailable_dependencies(rt: Runtime) -> list[str]:
    """Names of the configured dependencies that do not answer (empty when ready).

    The checks run concurrently, each bounded by :data:`CHECK_TIMEOUT`.
    """
    checks: dict[str, Callable[[], Awaitable[None]]] = {"database": lambda: _database(rt)}
    if rt.redis is not None:
        checks["redis"] = lambda: _redis(rt)
    results = await asyncio.gather(*(_answers(n, c) for n, c in checks.items()))
    return [name for name, ok in zip(checks, results, strict=True) if not ok]
