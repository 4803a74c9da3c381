"""The request vocabulary, at the bottom of authgate's layers.

Headers, the request view schemes read, trusted proxies, client certificates, the ASGI
type names and the scope keys authgate writes. It imports nothing of authgate's but the
foundation (errors, identity, crypto), so every package above can share it.
"""

from authgate.http.asgi import CLIENT_IP_SCOPE_KEY, IDENTITY_SCOPE_KEY, get_identity
from authgate.http.headers import Headers
from authgate.http.proxies import TrustedProxies
from authgate.http.request import RequestView

__all__ = [
    "CLIENT_IP_SCOPE_KEY",
    "IDENTITY_SCOPE_KEY",
    "Headers",
    "RequestView",
    "TrustedProxies",
    "get_identity",
]
