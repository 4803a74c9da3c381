"""authgate's own JWS signing keys: one key per algorithm, published before and after use.

RFC 7515 (JWS), RFC 7517 (JWK, JWK Set), RFC 7518 §3.3-§3.4 (``RS256``, ``ES256``),
RFC 8037 §3.1 (``EdDSA`` with Ed25519), RFC 7638 (the JWK thumbprint used as ``kid``),
RFC 9068 §2.1 (``typ: at+jwt``). OpenID Connect Core §15.1 makes ``RS256`` mandatory for
ID tokens, so the ring holds one key per configured algorithm; access tokens are signed
with the cheapest one (``EdDSA``: about ten times cheaper to sign than ``RS256``).

A key's life cycle is derived from its timestamps at ``now`` (so every instance agrees
without coordination):

- ``next``: published in the JWK Set, not yet signing (``now < activated_at``). Verifiers
  that cached the JWK Set before the rotation learn the key before any token uses it.
- ``active``: signing (``activated_at <= now < retired_at``); the newest active key of an
  algorithm signs.
- ``retired``: no longer signing, still published until ``expires_at`` = ``retired_at`` +
  the longest token lifetime, so every token it signed verifies until it expires.

This module is sans-I/O: :class:`SigningKeyRing` is an immutable in-memory snapshot with
the joserfc key objects already imported; :mod:`authgate.tokens.signing_store` loads and
rotates it in the database.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry, serialize_compact

from authgate.tokens.keys import KeyRing, import_jwk

__all__ = [
    "DEFAULT_ACCESS_TOKEN_ALGORITHM",
    "SIGNING_ALGORITHMS",
    "KeyState",
    "NoSigningKey",
    "PrivateKey",
    "SigningKey",
    "SigningKeyRing",
    "generate_signing_key",
]

#: Algorithms authgate signs with; ``RS256`` is OIDC's mandatory-to-implement algorithm.
SIGNING_ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256")
#: Access tokens default to Ed25519: the cheapest signature of the three.
DEFAULT_ACCESS_TOKEN_ALGORITHM = "EdDSA"  # noqa: S105 - an algorithm name
#: RSA modulus size for new ``RS256`` keys (RFC 7518 §3.3 requires at least 2048 bits).
RSA_KEY_BITS = 2048

KeyState = Literal["next", "active", "retired"]
PrivateKey = RSAKey | ECKey | OKPKey


class NoSigningKey(LookupError):
    """No key of the requested algorithm is active now."""


class _SigningRegistry(JWSRegistry):
    """A joserfc registry limited to authgate's signing algorithms.

    joserfc warns on every use of ``EdDSA`` (RFC 9864 deprecates the polymorphic name);
    authgate still emits ``EdDSA`` because it is what verifiers (PyJWT, jose, Nimbus)
    recognise, and the key pins the curve to Ed25519.
    """

    def __init__(self) -> None:
        super().__init__(algorithms=list(SIGNING_ALGORITHMS), strict_check_header=False)

    def get_alg(self, name: str) -> Any:
        if name not in SIGNING_ALGORITHMS:
            raise JoseError(f"algorithm {name!r} is not a signing algorithm")
        return self.algorithms[name]


_REGISTRY = _SigningRegistry()


def generate_signing_key(algorithm: str) -> PrivateKey:
    """A new private key for ``algorithm`` (one of :data:`SIGNING_ALGORITHMS`).

    Raises:
        ValueError: the algorithm is not one authgate signs with.
    """
    if algorithm == "EdDSA":
        return OKPKey.generate_key("Ed25519", private=True)
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if algorithm == "RS256":
        return RSAKey.generate_key(RSA_KEY_BITS, private=True)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}")


def import_private_jwk(members: Mapping[str, Any]) -> PrivateKey:
    """A private key from its JWK members (as stored, once unsealed).

    Raises:
        ValueError: not a private RSA, EC or OKP key.
    """
    kty = members.get("kty")
    key: PrivateKey
    if kty == "RSA":
        key = RSAKey.import_key(dict(members))
    elif kty == "EC":
        key = ECKey.import_key(dict(members))
    elif kty == "OKP":
        key = OKPKey.import_key(dict(members))
    else:
        raise ValueError(f"unsupported kty {kty!r}")
    if not key.is_private:
        raise ValueError("not a private key")
    return key


def public_jwk(key: PrivateKey, algorithm: str) -> dict[str, Any]:
    """The published JWK of ``key``: public members, ``kid`` (RFC 7638 thumbprint), ``alg``,
    ``use: sig`` (RFC 7517 §4.2, §4.4, §4.5)."""
    members = dict(key.as_dict(private=False))
    members.update(kid=key.thumbprint(), alg=algorithm, use="sig")
    return members


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One signing key with its schedule (seconds since the epoch).

    Attributes:
        kid: the key id (the RFC 7638 thumbprint of the public key).
        algorithm: the one JWS ``alg`` this key signs with.
        private: the imported private key (cached: signing never re-parses it).
        public_jwk: the JWK published in the JWK Set.
        created_at: when the key was made.
        activated_at: when it starts signing (None: not scheduled).
        retired_at: when it stops signing (None: not scheduled).
        expires_at: when it leaves the JWK Set (None: not scheduled).
    """

    kid: str
    algorithm: str
    private: PrivateKey = field(repr=False)
    public_jwk: Mapping[str, Any]
    created_at: float
    activated_at: float | None
    retired_at: float | None = None
    expires_at: float | None = None

    def state(self, now: float) -> KeyState:
        """``next``, ``active`` or ``retired`` at ``now``."""
        if self.activated_at is None or now < self.activated_at:
            return "next"
        if self.retired_at is not None and now >= self.retired_at:
            return "retired"
        return "active"

    def is_published(self, now: float) -> bool:
        """True while the key belongs in the JWK Set."""
        return self.expires_at is None or now < self.expires_at


class SigningKeyRing:
    """An immutable snapshot of the signing keys, with verification keys derived once.

    Args:
        keys: the keys (any state, expired ones included; they are filtered by time).
    """

    __slots__ = ("_headers", "_keys", "_verification")

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self._keys = tuple(sorted(keys, key=lambda k: (k.activated_at or 0.0, k.created_at)))
        self._verification: dict[tuple[str, ...], KeyRing] = {}
        self._headers: dict[tuple[str, str], bytes] = {}

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """Every key, oldest activation first."""
        return self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> SigningKey | None:
        """The key with this ``kid``, or None."""
        return next((k for k in self._keys if k.kid == kid), None)

    def active(self, algorithm: str, now: float) -> SigningKey:
        """The key that signs ``algorithm`` tokens at ``now``: the newest active one.

        Raises:
            NoSigningKey: none is active.
        """
        for key in reversed(self._keys):
            if key.algorithm == algorithm and key.state(now) == "active":
                return key
        raise NoSigningKey(f"no active {algorithm} signing key")

    def published(self, now: float) -> tuple[SigningKey, ...]:
        """The keys in the JWK Set at ``now`` (next, active and not yet expired retired)."""
        return tuple(k for k in self._keys if k.is_published(now))

    def jwks(self, now: float) -> dict[str, Any]:
        """The public JWK Set document (RFC 7517 §5)."""
        return {"keys": [dict(k.public_jwk) for k in self.published(now)]}

    def verification_keys(self, now: float) -> KeyRing:
        """The published public keys as a verifier's :class:`KeyRing`, each pinned to its
        own algorithm (built once per distinct set of published keys)."""
        published = self.published(now)
        cache_key = tuple(k.kid for k in published)
        ring = self._verification.get(cache_key)
        if ring is None:
            allowed = frozenset(SIGNING_ALGORITHMS)
            ring = KeyRing(
                import_jwk(k.public_jwk, allowed, allow_symmetric=False) for k in published
            )
            if len(self._verification) > 16:
                self._verification.clear()
            self._verification[cache_key] = ring
        return ring

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        algorithm: str,
        now: float,
        typ: str = "at+jwt",
    ) -> str:
        """Sign ``claims`` as a compact JWS with the active key of ``algorithm``.

        Args:
            claims: the JWT Claims Set (JSON-serialisable).
            algorithm: the JWS ``alg``.
            now: the current time, which selects the key.
            typ: the ``typ`` header (RFC 9068 §2.1: ``at+jwt`` for access tokens).

        Returns:
            The compact serialization ``header.payload.signature``.

        Raises:
            NoSigningKey: no key of ``algorithm`` is active.
        """
        key = self.active(algorithm, now)
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        if algorithm == "EdDSA":
            # RFC 8037 §3.1 / RFC 7515 §7.1 by hand for the default (hot) algorithm: the
            # header segment is encoded once per key and typ, and Ed25519 signs the
            # ASCII signing input directly (deterministic: same bytes as joserfc).
            head = self._headers.get((key.kid, typ))
            if head is None:
                head = _b64(
                    json.dumps(
                        {"alg": algorithm, "typ": typ, "kid": key.kid}, separators=(",", ":")
                    ).encode()
                )
                self._headers[(key.kid, typ)] = head
            signing_input = head + b"." + _b64(payload)
            private = key.private.private_key
            if not isinstance(private, Ed25519PrivateKey):  # pragma: no cover - by construction
                raise TypeError("EdDSA signing keys are Ed25519")
            signature = private.sign(signing_input)
            return (signing_input + b"." + _b64(signature)).decode("ascii")
        header = {"alg": algorithm, "typ": typ, "kid": key.kid}
        return serialize_compact(header, payload, key.private, registry=_REGISTRY)

    def __repr__(self) -> str:
        return f"SigningKeyRing(kids={[k.kid for k in self._keys]!r})"


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")
