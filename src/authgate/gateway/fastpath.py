"""Re-export: the verified-identity cache lives in :mod:`authgate.schemes.fastpath`."""

from authgate.schemes.fastpath import VerifiedIdentityCache

__all__ = ["VerifiedIdentityCache"]
