"""authgate: API authentication and authorization.

The public API is what ``__all__`` names; everything else may change.
The server lives in :mod:`authgate.server`, the CLI in :mod:`authgate.cli`.

Names are imported on first use, so ``import authgate`` stays light and never imports an
optional back end (Redis, PostgreSQL drivers).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authgate.config import Settings
    from authgate.credentials import CredentialResolver
    from authgate.embedding.embed import RuntimeMiddleware, get_runtime
    from authgate.embedding.middleware import AuthMiddleware
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
    from authgate.http.asgi import get_identity
    from authgate.http.request import RequestView
    from authgate.identity import Identity
    from authgate.runtime import Runtime
    from authgate.schemes.apikey import ApiKeyAuthenticator
    from authgate.schemes.base import Authenticator
    from authgate.schemes.basic import BasicAuthenticator
    from authgate.schemes.chain import SchemeChain

__version__ = "0.1.0"

_EXPORTS = {
    "ApiKeyAuthenticator": "authgate.schemes.apikey",
    "AuthError": "authgate.errors",
    "AuthMiddleware": "authgate.embedding.middleware",
    "Authenticator": "authgate.schemes.base",
    "BasicAuthenticator": "authgate.schemes.basic",
    "Conflict": "authgate.errors",
    "CredentialResolver": "authgate.credentials",
    "Forbidden": "authgate.errors",
    "Identity": "authgate.identity",
    "InsufficientScope": "authgate.errors",
    "InvalidCredentials": "authgate.errors",
    "InvalidRequest": "authgate.errors",
    "InvalidScope": "authgate.errors",
    "NotFound": "authgate.errors",
    "PayloadTooLarge": "authgate.errors",
    "RateLimited": "authgate.errors",
    "RequestView": "authgate.http.request",
    "Runtime": "authgate.runtime",
    "RuntimeMiddleware": "authgate.embedding.embed",
    "SchemeChain": "authgate.schemes.chain",
    "Settings": "authgate.config",
    "SignatureMismatch": "authgate.errors",
    "Unauthorized": "authgate.errors",
    "get_identity": "authgate.http.asgi",
    "get_runtime": "authgate.embedding.embed",
}

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
    "Runtime",
    "RuntimeMiddleware",
    "SchemeChain",
    "Settings",
    "SignatureMismatch",
    "Unauthorized",
    "__version__",
    "get_identity",
    "get_runtime",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'authgate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time without this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
