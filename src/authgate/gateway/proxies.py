"""Re-export: the trusted-proxy logic lives in :mod:`authgate.http.proxies`."""

from authgate.http.proxies import TrustedProxies

__all__ = ["TrustedProxies"]
