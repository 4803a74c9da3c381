"""The Authenticator protocol every scheme implements.

Schemes never touch ASGI or a database directly: they read a :class:`RequestView`
(:mod:`authgate.http.request`) and ask a port (:class:`CredentialResolver`,
:mod:`authgate.credentials`) for what they need, so they are testable without a server.
``Headers``, ``RequestView`` and the resolver ports are re-exported here for code that
imported them from this module.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from authgate.credentials import (
    CredentialResolver,
    KeyPairCredential,
    PublicKeyCredential,
    PublicKeyResolver,
)
from authgate.http.headers import Headers
from authgate.http.request import RequestView
from authgate.identity import Identity

__all__ = [
    "Authenticator",
    "CredentialResolver",
    "Headers",
    "KeyPairCredential",
    "PublicKeyCredential",
    "PublicKeyResolver",
    "RequestView",
]


@runtime_checkable
class Authenticator(Protocol):
    """One authentication scheme.

    ``is_present`` is cheap and pure: does the request carry this scheme's credentials?
    ``authenticate`` then decides; it raises an :class:`~authgate.errors.AuthError` on any
    failure and never returns None, so a present but invalid credential cannot fall
    through to a later scheme.

    ``credential_headers`` and ``credential_params`` name (lower-case) the headers and
    query parameters whose presence may signal this scheme's credentials. ``cacheable``
    is True only when the identity depends on one credential header alone (API key,
    Basic, Bearer): then a verified result may be reused for the same header value.
    Signature schemes, whose result depends on the whole request, are never cacheable.
    """

    name: str
    challenge: str
    needs_body: bool
    cacheable: bool
    credential_headers: tuple[str, ...]
    credential_params: tuple[str, ...]

    def is_present(self, request: RequestView) -> bool: ...

    async def authenticate(self, request: RequestView) -> Identity: ...
