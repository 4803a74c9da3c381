"""Sans-I/O verification of JWT access tokens from trusted issuers.

The steps, in order, each failing with the same ``invalid_token`` 401:

1. Size cap before any parsing; exactly three base64url segments (RFC 7515 §7.1), decoded
   strictly (no padding, no stray characters, canonical trailing bits); a non-empty
   signature segment (CVE-2020-28042).
2. The JOSE header (RFC 7515 §4.1) and the claims are JSON objects without duplicate
   members (RFC 7515 §5.2 step 4, RFC 7519 §4) and without NaN/Infinity.
3. Header policy (RFC 8725 §3.1, §3.10, §3.11): ``alg`` never ``none`` in any spelling and
   within the issuer's allow-list; no ``jwk``/``jku``/``x5u``/``x5c`` (keys are never taken
   from the token and nothing is fetched because of it, CVE-2018-0114); no ``crit``
   extension is understood, so any ``crit`` is refused (RFC 7515 §4.1.11); no ``b64``
   (RFC 7797 §7) or nested ``cty``; ``kid`` a short string; ``typ`` ``at+jwt`` (RFC 9068 §4).
4. The issuer is the one whose configured ``iss`` equals the unverified ``iss`` exactly.
5. The key is the one ring key with that ``kid`` pinned to that ``alg``; the signature is
   checked by joserfc (RFC 7515 §5.2) under a registry that knows only the issuer's
   algorithms.
6. Claims (RFC 7519 §4.1, RFC 9068 §4), see :mod:`authgate.tokens.claims`.

I/O (fetching a JWKS) happens between steps 4 and 5, outside this module: callers get an
:class:`UnverifiedToken` from :meth:`TokenVerifier.inspect`, obtain a :class:`KeyRing`
for its issuer, then call :meth:`TokenVerifier.verify`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import CompactSignature, JWSRegistry, validate_compact
from joserfc.util import urlsafe_b64decode

from authgate.identity import Identity
from authgate.tokens.cache import VerifiedTokenCache
from authgate.tokens.claims import identity_from_claims, invalid_token, validate_claims
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.keys import KeyRing, PinnedKey

__all__ = [
    "DEFAULT_MAX_TOKEN_BYTES",
    "TokenVerifier",
    "UnverifiedToken",
    "check_signature",
    "decode_json_object",
    "parse_jws",
    "verify_jws",
]

#: Default cap on the token length (bytes); bigger tokens are refused before parsing.
DEFAULT_MAX_TOKEN_BYTES = 16 * 1024

# header and signature non-empty, payload may be empty; base64url alphabet only
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_HEADER_CACHE_SIZE = 1024
_FORBIDDEN_HEADERS = ("jwk", "jku", "x5u", "x5c", "b64", "cty", "zip", "enc")
_MAX_KID_LENGTH = 256
_UNDERSTOOD_CRIT: frozenset[str] = frozenset()


class _PinnedRegistry(JWSRegistry):
    """A joserfc registry that knows only an issuer's algorithms.

    joserfc falls back to its "recommended" algorithms when the allow-list is empty and
    warns on every use of ``EdDSA``; here the allow-list is the whole truth.
    """

    def __init__(self, algorithms: frozenset[str]) -> None:
        super().__init__(algorithms=sorted(algorithms), strict_check_header=False)
        self._pinned = algorithms

    def get_alg(self, name: str) -> Any:
        if name not in self._pinned or name not in self.algorithms:
            raise JoseError(f"algorithm {name!r} is not allowed")
        return self.algorithms[name]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member")
    return out


def decode_json_object(segment: bytes, what: str) -> dict[str, Any]:
    """Strictly decode one base64url segment holding a JSON object.

    Raises:
        InvalidCredentials: bad base64url, bad UTF-8/JSON, duplicate members, not an object.
    """
    try:
        value = json.loads(
            urlsafe_b64decode(segment),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except (ValueError, TypeError, RecursionError):
        raise invalid_token(f"{what} is not valid base64url JSON") from None
    if type(value) is not dict:
        raise invalid_token(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A well-formed token whose issuer is known but whose signature is not yet checked.

    Attributes:
        token: the compact serialization.
        issuer: the issuer named by the (unverified) ``iss``.
        header: the JOSE header.
        claims: the claims set, not to be trusted before :meth:`TokenVerifier.verify`.
        segments: the three raw base64url segments.
    """

    token: str
    issuer: IssuerConfig
    header: dict[str, Any]
    claims: dict[str, Any]
    segments: tuple[bytes, bytes, bytes]

    @property
    def kid(self) -> str | None:
        """The header ``kid`` (already checked to be a string when present)."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def alg(self) -> str:
        """The header ``alg``."""
        return str(self.header["alg"])


def _check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if type(alg) is not str:
        raise invalid_token("alg missing or not a string")
    if alg.lower() == "none":
        raise invalid_token("alg none")
    for name in _FORBIDDEN_HEADERS:
        if name in header:
            raise invalid_token(f"header {name} is not accepted")
    if "crit" in header:
        crit = header["crit"]
        if type(crit) is not list or not crit or any(type(c) is not str for c in crit):
            raise invalid_token("crit is not a non-empty list of names")
        if any(c not in header for c in crit):
            raise invalid_token("crit names an absent header")
        if not _UNDERSTOOD_CRIT.issuperset(crit):
            raise invalid_token("crit names an extension not understood")
    if "kid" in header:
        kid = header["kid"]
        if type(kid) is not str or not kid or len(kid) > _MAX_KID_LENGTH:
            raise invalid_token("kid is not a short non-empty string")


def _check_typ(header: dict[str, Any], issuer: IssuerConfig) -> None:
    typ = header.get("typ")
    if typ is None:
        if "typ" in header or issuer.require_at_jwt:
            raise invalid_token("typ is not at+jwt")
        return
    if type(typ) is not str:
        raise invalid_token("typ is not a string")
    media = typ.lower().removeprefix("application/")  # RFC 7515 §4.1.9
    if media == "at+jwt":
        return
    if media == "jwt" and not issuer.require_at_jwt:
        return
    raise invalid_token(f"typ {media[:32]!r} is not an access token")


def _malformed_reason(token: str) -> str:
    """Why a token failed the compact-shape check (for the audit log only)."""
    parts = token.split(".")
    if len(parts) != 3:
        return "not a three-segment JWS"
    if not parts[2]:
        return "empty signature"
    if not parts[0]:
        return "empty header"
    return "a segment is not base64url"


def parse_jws(
    token: str,
    max_bytes: int,
    header_cache: dict[bytes, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], tuple[bytes, bytes, bytes]]:
    """Steps 1-3 for any compact JWS: size, shape, header JSON and header policy.

    Args:
        token: the compact serialization.
        max_bytes: the size cap.
        header_cache: validated headers by their exact encoded segment. Tokens of one
            issuer share a header segment, so its decoding and policy checks run once;
            a cached header is returned as is and must not be modified.

    Returns:
        The header and the three raw segments.

    Raises:
        InvalidCredentials: the token is refused.
    """
    if len(token) > max_bytes:
        raise invalid_token("token larger than the cap")
    if not token.isascii():
        raise invalid_token("token is not ASCII")
    if _COMPACT.fullmatch(token) is None:
        raise invalid_token(_malformed_reason(token))
    h, p, s = (x.encode("ascii") for x in token.split("."))
    header = header_cache.get(h) if header_cache is not None else None
    if header is None:
        header = decode_json_object(h, "header")
        _check_header(header)
        if header_cache is not None:
            if len(header_cache) >= _HEADER_CACHE_SIZE:
                header_cache.clear()
            header_cache[h] = header
    return header, (h, p, s)


def check_signature(
    header: dict[str, Any],
    segments: tuple[bytes, bytes, bytes],
    key: PinnedKey,
    registry: JWSRegistry,
) -> None:
    """Step 5: verify the JWS signature with joserfc under a pinned key and registry.

    Raises:
        InvalidCredentials: the key is not pinned to ``alg`` or the signature is wrong.
    """
    if header["alg"] not in key.algorithms:
        raise invalid_token("key not pinned to this alg")
    h, p, s = segments
    obj = CompactSignature(header, p)
    obj.segments.update({"header": h, "payload": p, "signature": s})
    try:
        ok = validate_compact(obj, key.key, registry=registry)
    except (JoseError, ValueError, TypeError):
        ok = False
    if not ok:
        raise invalid_token("bad signature")


def verify_jws(
    token: str,
    keys: KeyRing,
    algorithms: frozenset[str],
    *,
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> tuple[dict[str, Any], bytes]:
    """Verify any compact JWS (not only a JWT) with a key ring: header policy and signature.

    Args:
        token: the compact serialization.
        keys: the candidate keys.
        algorithms: the allow-list.
        max_bytes: the size cap.

    Returns:
        The header and the decoded payload.

    Raises:
        InvalidCredentials: the JWS is refused.
    """
    header, segments = parse_jws(token, max_bytes)
    if header["alg"] not in algorithms:
        raise invalid_token("alg not allowed")
    kid = header.get("kid")
    key = keys.select(kid, header["alg"])
    if key is None:
        raise invalid_token("no key for this kid and alg")
    check_signature(header, segments, key, _PinnedRegistry(algorithms))
    try:
        payload = urlsafe_b64decode(segments[1])
    except (ValueError, TypeError):
        raise invalid_token("payload is not base64url") from None
    return header, payload


class TokenVerifier:
    """Verifies JWT access tokens for a fixed set of issuers (no I/O).

    Args:
        issuers: the trusted issuers; ``iss`` values must be unique.
        clock: returns the current time in seconds since the epoch.
        max_token_bytes: tokens longer than this are refused before parsing.
        cache: a cache of verified tokens, or None to verify every time.
    """

    def __init__(
        self,
        issuers: Sequence[IssuerConfig],
        *,
        clock: Callable[[], float] = time.time,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        cache: VerifiedTokenCache | None = None,
    ) -> None:
        self._issuers: dict[str, IssuerConfig] = {}
        for issuer in issuers:
            if issuer.issuer in self._issuers:
                raise ValueError(f"issuer {issuer.issuer!r} configured twice")
            self._issuers[issuer.issuer] = issuer
        self._registries = {
            iss: _PinnedRegistry(cfg.allowed_algorithms) for iss, cfg in self._issuers.items()
        }
        self._clock = clock
        self.max_token_bytes = max_token_bytes
        self.cache = cache
        self._headers: dict[bytes, dict[str, Any]] = {}

    @property
    def issuers(self) -> dict[str, IssuerConfig]:
        """The trusted issuers by ``iss``."""
        return dict(self._issuers)

    def cached(self, token: str) -> Identity | None:
        """The Identity of a token verified earlier and still valid now, or None."""
        if self.cache is None or len(token) > self.max_token_bytes:
            return None
        return self.cache.get(token, self._clock())

    def inspect(self, token: str) -> UnverifiedToken:
        """Parse a token and apply every check that needs no key.

        Raises:
            InvalidCredentials: the token is malformed, too large, or from an unknown issuer.
        """
        header, (h, p, s) = parse_jws(token, self.max_token_bytes, self._headers)
        claims = decode_json_object(p, "payload")
        iss = claims.get("iss")
        issuer = self._issuers.get(iss) if type(iss) is str else None
        if issuer is None:
            raise invalid_token("unknown issuer")
        if header["alg"] not in issuer.allowed_algorithms:
            raise invalid_token("alg not allowed for this issuer")
        _check_typ(header, issuer)
        return UnverifiedToken(token, issuer, header, claims, (h, p, s))

    def verify(self, unverified: UnverifiedToken, keys: KeyRing) -> Identity:
        """Check the signature with the issuer's keys, then the claims.

        Args:
            unverified: the result of :meth:`inspect`.
            keys: the issuer's current key ring.

        Returns:
            The caller's Identity (also cached when a cache is configured).

        Raises:
            InvalidCredentials: no key fits, the signature is wrong, or a claim is refused.
        """
        issuer = unverified.issuer
        pinned = keys.select(unverified.kid, unverified.alg)
        if pinned is None:
            raise invalid_token("no key for this kid and alg")
        check_signature(
            unverified.header, unverified.segments, pinned, self._registries[issuer.issuer]
        )
        claims = unverified.claims
        now = self._clock()
        validate_claims(claims, issuer, now)
        identity = identity_from_claims(claims, issuer)
        if self.cache is not None:
            self.cache.put(
                unverified.token,
                identity,
                now=now,
                exp=claims.get("exp"),
                nbf=claims.get("nbf"),
                leeway=issuer.leeway,
            )
        return identity

    def verify_with(self, token: str, keys: KeyRing) -> Identity:
        """:meth:`inspect` then :meth:`verify` with a known ring (cache consulted first)."""
        identity = self.cached(token)
        if identity is not None:
            return identity
        return self.verify(self.inspect(token), keys)
