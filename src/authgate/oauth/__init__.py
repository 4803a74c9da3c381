"""Sans-I/O OAuth 2.0 authorization server: clients, client authentication, grants,
introspection, revocation, metadata (RFC 6749, 7009, 7523, 7662, 8414, 9700).

The machine-to-machine half is here (client credentials, refresh, introspection,
revocation, client authentication incl. ``private_key_jwt``); the authorization code
grant with PKCE, ``/oauth/authorize`` and the device grant are not yet (see docs/oauth.md).
"""

from authgate.oauth.client_auth import PresentedClient, extract_client, verify_client
from authgate.oauth.clients import ClientCache, ClientRecord, ClientService, IssuedClient
from authgate.oauth.server import OAuthServer

__all__ = [
    "ClientCache",
    "ClientRecord",
    "ClientService",
    "IssuedClient",
    "OAuthServer",
    "PresentedClient",
    "extract_client",
    "verify_client",
]
