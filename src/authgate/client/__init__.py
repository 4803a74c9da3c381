"""``authgate.client``: ``httpx2.Auth`` for every scheme authgate accepts (and AWS's, OAuth's).

Each class works with ``httpx2.Client`` and ``httpx2.AsyncClient`` alike (one
``auth_flow``); secrets are held in :class:`~authgate.crypto.secret.Secret` and never appear
in a ``repr``, an exception or a log. See docs/client.md.

- :mod:`.simple`: ``NoAuth``, ``BasicAuth``, ``BearerAuth``, ``APIKeyAuth``.
- :mod:`.sigv4`: ``AWSSigV4Auth``. :mod:`.hmac`: ``HMACAuth``. :mod:`.oauth1`: ``OAuth1Auth``.
- :mod:`.tokens`: ``AuthgateKeyPair``, ``OAuth2ClientCredentials`` (cached, locked, retried).
- :mod:`.user_grants`: ``OAuth2AuthorizationCode`` (PKCE, loopback redirect),
  ``OAuth2DeviceCode``: a user signs in once, then refresh tokens.
- :mod:`.postman`, :mod:`.profiles`, :mod:`.variables`: for ``authgate run`` and ``request``.
"""

from authgate.client.hmac import HMACAuth
from authgate.client.oauth1 import OAuth1Auth
from authgate.client.sigv4 import AWSSigV4Auth
from authgate.client.simple import APIKeyAuth, BasicAuth, BearerAuth, NoAuth
from authgate.client.tokens import AuthgateKeyPair, OAuth2ClientCredentials, TokenError
from authgate.client.user_grants import (
    DeviceAuthorization,
    OAuth2AuthorizationCode,
    OAuth2DeviceCode,
)

__all__ = [
    "APIKeyAuth",
    "AWSSigV4Auth",
    "AuthgateKeyPair",
    "BasicAuth",
    "BearerAuth",
    "DeviceAuthorization",
    "HMACAuth",
    "NoAuth",
    "OAuth1Auth",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2DeviceCode",
    "TokenError",
]
