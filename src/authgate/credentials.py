"""The credential lookup ports: what a scheme asks the account store for.

Schemes depend on these protocols, the account store (:mod:`authgate.accounts`)
implements them; neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from authgate.crypto.secret import Secret
from authgate.identity import Identity

__all__ = [
    "CredentialResolver",
    "KeyPairCredential",
    "PublicKeyCredential",
    "PublicKeyResolver",
]


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
