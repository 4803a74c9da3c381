"""Embedding authgate: pure-ASGI middleware."""

from authgate.embedding.middleware import AuthMiddleware
from authgate.http.asgi import IDENTITY_SCOPE_KEY, get_identity

__all__ = ["IDENTITY_SCOPE_KEY", "AuthMiddleware", "get_identity"]
