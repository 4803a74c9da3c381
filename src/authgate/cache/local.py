"""Re-export: the local credential caches live in :mod:`authgate.accounts.caches`."""

from authgate.accounts.caches import CredentialCache, NegativeCache

__all__ = ["CredentialCache", "NegativeCache"]
