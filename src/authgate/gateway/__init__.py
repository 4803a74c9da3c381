"""Embedding authgate: pure-ASGI middleware."""

from authgate.gateway.middleware import IDENTITY_SCOPE_KEY, AuthMiddleware, get_identity

__all__ = ["IDENTITY_SCOPE_KEY", "AuthMiddleware", "get_identity"]
