"""authgate: API authentication and authorization.

The public API is what ``__all__`` names; everything else may change.
The server lives in :mod:`authgate.server`, the CLI in :mod:`authgate.cli`.
"""

from authgate.config import Settings
from authgate.errors import (
    AuthError,
    Conflict,
    Forbidden,
    InsufficientScope,
    InvalidCredentials,
    InvalidRequest,
    InvalidScope,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SignatureMismatch,
    Unauthorized,
)
from authgate.gateway.middleware import AuthMiddleware, get_identity
from authgate.identity import Identity
from authgate.schemes.apikey import ApiKeyAuthenticator
from authgate.schemes.base import Authenticator, CredentialResolver, RequestView
from authgate.schemes.basic import BasicAuthenticator
from authgate.schemes.chain import SchemeChain

__version__ = "0.1.0"

__all__ = [
    "ApiKeyAuthenticator",
    "AuthError",
    "AuthMiddleware",
    "Authenticator",
    "BasicAuthenticator",
    "Conflict",
    "CredentialResolver",
    "Forbidden",
    "Identity",
    "InsufficientScope",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidScope",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestView",
    "SchemeChain",
    "Settings",
    "SignatureMismatch",
    "Unauthorized",
    "__version__",
    "get_identity",
]
