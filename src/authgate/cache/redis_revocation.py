"""Re-export: the Redis ``jti`` deny-list lives in :mod:`authgate.tokens.redis_revocation`."""

from authgate.tokens.redis_revocation import DEFAULT_PREFIX, RedisRevocationList

__all__ = ["DEFAULT_PREFIX", "RedisRevocationList"]
