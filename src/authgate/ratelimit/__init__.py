"""Rate limits: GCRA on an expiring store (memory or Redis), and the ASGI layer that
enforces a policy route's limits with ``RateLimit-*`` headers and 429."""

from authgate.ratelimit.gcra import RateLimiter, Verdict
from authgate.ratelimit.middleware import RateLimitMiddleware

__all__ = ["RateLimitMiddleware", "RateLimiter", "Verdict"]
