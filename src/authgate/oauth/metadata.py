"""Authorization server metadata (RFC 8414 §2) and OpenID Connect discovery (OIDC
Discovery 1.0 §3), built from what the server really supports.

Only the grants the token endpoint's registry serves are advertised; never ``password``
or ``implicit`` (RFC 9700 §2.4, §2.1.2): the only response type is ``code``, in the
query. PKCE is S256 only (RFC 9700 §2.1.1). RFC 9207 §3:
``authorization_response_iss_parameter_supported``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from authgate.oauth.authorize import OIDC_SCOPES
from authgate.oauth.client_auth import ASSERTION_ALGORITHMS
from authgate.oauth.registration import AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS
from authgate.tokens.id_tokens import DEFAULT_ID_TOKEN_ALGORITHM

__all__ = ["authorization_server_metadata", "openid_configuration"]


def authorization_server_metadata(issuer: str, *, grant_types: Sequence[str]) -> dict[str, Any]:
    """The RFC 8414 document for ``issuer`` (no trailing slash) whose token endpoint
    serves ``grant_types`` (its grant registry's)."""
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "device_authorization_endpoint": f"{base}/oauth/device_authorization",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": list(grant_types),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


def openid_configuration(
    issuer: str, *, signing_algorithms: tuple[str, ...], grant_types: Sequence[str]
) -> dict[str, Any]:
    """The OIDC discovery document: RFC 8414's fields plus the OIDC-specific ones."""
    out = authorization_server_metadata(issuer, grant_types=grant_types)
    base = issuer.rstrip("/")
    out.update(
        userinfo_endpoint=f"{base}/oauth/userinfo",
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=[DEFAULT_ID_TOKEN_ALGORITHM],
        scopes_supported=list(OIDC_SCOPES),
        claims_supported=[
            "iss",
            "sub",
            "aud",
            "azp",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "amr",
            "preferred_username",
        ],
        prompt_values_supported=["none", "login", "consent", "select_account"],
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
    )
    return out
