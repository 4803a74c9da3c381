"""The generic cell rate algorithm (GCRA), one atomic script on an expiring store.

A limit of ``limit`` requests per ``period`` seconds with a ``burst`` spaces requests
``T = period / limit`` apart and lets ``burst`` more through at once: the state of a key
is one number, its theoretical arrival time (TAT). A request at ``now`` is allowed when
``max(TAT, now) + T - (burst + 1) * T <= now``; the new TAT is then ``max(TAT, now) + T``.
Without a burst given, ``burst = limit - 1``: a client may use a whole period's requests
at once, and then one every ``T`` — the meaning people give to ``100/m``.

On Redis the script reads Redis's own clock (``TIME``), so instances with different
clocks share one limit exactly; the memory store uses the limiter's clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from authgate.kv.store import Arg, ExpiringStore, Local, Script
from authgate.policy.model import RateLimit

__all__ = ["GCRA", "RateLimiter", "Verdict"]

_LUA = """
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + T
local allow_at = new_tat - tau - T
if now < allow_at then
  return {0, 0, math.ceil(allow_at - now), math.ceil(tat - now)}
end
local ttl = math.max(1, math.ceil(new_tat - now))
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', ttl)
return {1, math.floor((tau + T - (new_tat - now)) / T), 0, ttl}
"""


def _python(local: Local, keys: Sequence[str], args: Sequence[Arg]) -> list[int]:
    interval, tau, now = float(args[0]), float(args[1]), float(args[2])
    raw = local.read(keys[0])
    tat = max(float(raw), now) if raw is not None else now
    new_tat = tat + interval
    allow_at = new_tat - tau - interval
    if now < allow_at:
        return [0, 0, math.ceil(allow_at - now), math.ceil(tat - now)]
    ttl = max(1, math.ceil(new_tat - now))
    local.write(keys[0], f"{new_tat:.3f}".encode(), ttl / 1000)
    return [1, math.floor((tau + interval - (new_tat - now)) / interval), 0, ttl]


#: one request against one key (Lua for Redis, Python for the memory store)
GCRA = Script(lua=_LUA, python=_python)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one limit says of one request.

    Attributes:
        allowed: whether the request may go on.
        limit: requests per period (``RateLimit-Limit``).
        remaining: requests that may follow at once (``RateLimit-Remaining``).
        reset: seconds until the key is back to a full burst (``RateLimit-Reset``).
        retry_after: seconds to wait before a refused request may succeed (0 if allowed).
    """

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class RateLimiter:
    """GCRA limits on ``store``: one atomic round trip per limit and request."""

    def __init__(self, store: ExpiringStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    async def hit(self, key: str, limit: RateLimit) -> Verdict:
        """Count one request against ``key`` under ``limit``.

        Raises:
            StoreUnavailable: the store could not answer.
        """
        interval = limit.period * 1000 / limit.limit
        burst = limit.burst if limit.burst is not None else limit.limit - 1
        now = self._clock() * 1000
        result = await self.store.run(GCRA, [key], [interval, interval * burst, now])
        allowed, remaining, retry_ms, reset_ms = (int(v) for v in result)
        return Verdict(
            allowed=bool(allowed),
            limit=limit.limit,
            remaining=max(0, remaining),
            reset=math.ceil(reset_ms / 1000),
            retry_after=math.ceil(retry_ms / 1000),
        )
