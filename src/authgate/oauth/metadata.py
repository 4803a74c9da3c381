"""Authorization server metadata (RFC 8414 §2) and OpenID Connect discovery (OIDC
Discovery 1.0 §3), built from what the server really supports.

Only implemented grants are advertised: ``client_credentials`` and ``refresh_token``;
never ``password`` or ``implicit`` (RFC 9700 §2.4, §2.1.2). PKCE is S256 only (RFC 9700
§2.1.1). ``authorization_endpoint`` and ``response_types_supported: ["code"]`` appear
when ``/oauth/authorize`` exists (until then ``response_types_supported`` is empty, as
no response type is served).
"""

from __future__ import annotations

from typing import Any

from authgate.oauth.client_auth import ASSERTION_ALGORITHMS
from authgate.oauth.grants import IMPLEMENTED_GRANTS
from authgate.oauth.registration import AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS

__all__ = ["authorization_server_metadata", "openid_configuration"]


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """The RFC 8414 document for ``issuer`` (no trailing slash)."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": list(IMPLEMENTED_GRANTS),
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
    }


def openid_configuration(issuer: str, *, signing_algorithms: tuple[str, ...]) -> dict[str, Any]:
    """The OIDC discovery document: RFC 8414's fields plus the OIDC-specific ones."""
    out = authorization_server_metadata(issuer)
    out.update(
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[a for a in signing_algorithms if a == "RS256"]
        or ["RS256"],
        scopes_supported=["openid"],
        claims_supported=["iss", "sub", "aud", "exp", "iat", "client_id", "scope", "jti"],
    )
    return out
