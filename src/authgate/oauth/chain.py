"""The scheme chain, minus the endpoints that authenticate OAuth clients themselves.

RFC 6749 §2.3.1: at the token endpoint (and RFC 7009 §2.1 / RFC 7662 §2.1 at revocation
and introspection) an ``Authorization: Basic`` header carries a *client*'s id and secret,
not a user's or a key pair's. The server's :class:`~authgate.gateway.middleware.AuthMiddleware`
runs the scheme chain on every request; for these exact paths the chain selects no
scheme, so the header reaches :mod:`authgate.oauth.client_auth` untouched. Matching is on
the raw path, exactly: an encoded variant (``/oauth%2Ftoken``) is not exempt and meets
the normal chain, which fails closed.
"""

from __future__ import annotations

from authgate.schemes.base import Authenticator, RequestView
from authgate.schemes.chain import SchemeChain

__all__ = ["CLIENT_AUTHENTICATING_PATHS", "OAuthAwareChain"]

CLIENT_AUTHENTICATING_PATHS = frozenset(
    {"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/device_authorization"}
)


class OAuthAwareChain(SchemeChain):
    """A :class:`SchemeChain` that leaves the OAuth client-authenticating endpoints alone."""

    def select(self, request: RequestView) -> Authenticator | None:
        if request.path in CLIENT_AUTHENTICATING_PATHS:
            return None
        return super().select(request)
