"""The Authenticator protocol and the plain-data view of a request every scheme reads.

Schemes never touch ASGI or a database directly: they read a :class:`RequestView` and
ask a port (:class:`CredentialResolver`) for what they need, so they are testable
without a server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from authgate.crypto.secret import Secret
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


class Headers:
    """Case-insensitive, multi-valued, read-only headers.

    Holds the raw ASGI byte pairs (names lower-cased) and decodes a value as latin-1 text
    only when it is asked for: most requests only ever look at one or two headers.
    """

    __slots__ = ("_raw",)

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._raw = tuple(
            (k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in items
        )

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        h = cls.__new__(cls)
        h._raw = tuple((k.lower(), v) for k, v in raw)
        return h

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` (lower-case), or ``default``."""
        key = name.encode("latin-1")
        for k, v in self._raw:
            if k == key:
                return v.decode("latin-1")
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.encode("latin-1")
        return [v.decode("latin-1") for k, v in self._raw if k == key]

    def count(self, name: str) -> int:
        key = name.encode("latin-1")
        return sum(1 for k, _ in self._raw if k == key)

    def items(self) -> tuple[tuple[str, str], ...]:
        return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw)

    def raw(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers as received: lower-cased names, undecoded values."""
        return self._raw

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.encode("latin-1")
        return any(k == key for k, _ in self._raw)

    def __repr__(self) -> str:  # never print values: they may be credentials
        return f"Headers(names={[k.decode('latin-1') for k, _ in self._raw]!r})"


@dataclass(slots=True)
class RequestView:
    """What a scheme may read of a request (read-only by contract; use ``dataclasses.replace``).

    Not a frozen dataclass only because it is built on every request and frozen
    initialisation costs several times more.

    Attributes:
        method: upper-case HTTP method.
        scheme: ``http`` or ``https`` as seen by the client (trusted proxies only).
        authority: the Host (``host[:port]``) the client addressed.
        path: the raw, still percent-encoded path.
        query: the raw query string, without ``?``.
        headers: request headers.
        client_ip: the trusted client address, or None.
        body: the request body when a scheme that signs bodies needs it, else None.
        peer: the address of the direct peer (``scope["client"]``), never from headers —
            what decides whether a proxy-supplied header (client certificate) is believed.
        tls_client_chain: the client certificate chain (PEM, leaf first) when the server
            terminated TLS itself (ASGI TLS extension), else empty.
    """

    method: str
    scheme: str
    authority: str
    path: str
    query: str
    headers: Headers
    client_ip: str | None = None
    body: bytes | None = None
    peer: str | None = None
    tls_client_chain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KeyPairCredential:
    """A key pair whose secret the server needs to recompute a signature."""

    key: str
    secret: Secret
    identity: Identity


@dataclass(frozen=True, slots=True)
class PublicKeyCredential:
    """A public key registered to a principal (RFC 9421 ed25519/ecdsa, OAuth 1.0a RSA).

    ``algorithm`` is pinned at registration (e.g. ``ed25519``, ``ecdsa-p256-sha256``,
    ``rsa-sha256``): a request naming another algorithm for this key is refused.
    """

    key_id: str
    public_key_pem: bytes
    algorithm: str
    identity: Identity


class PublicKeyResolver(Protocol):
    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        """The registered public key named ``key_id``, or None."""


class CredentialResolver(Protocol):
    """The port schemes use to look credentials up (store + cache behind it)."""

    async def resolve_api_key(self, key: str) -> Identity | None:
        """Identity for a valid, live API key; None for anything else."""

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        """The live key pair whose key is ``key`` (secret unsealed), or None."""

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        """Identity when the user exists, is enabled and the password matches.

        Raises:
            SecondFactorRequired: the password matches, but the user has a second factor,
                so the password alone must not authenticate them (docs/security.md).
        """


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
