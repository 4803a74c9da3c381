"""OAuth 1.0a one-legged request verification, server side (RFC 5849).

A consumer signs each request with its consumer key and consumer secret; in authgate the
consumer key/secret is a key pair (or, for ``RSA-SHA256``, a registered RSA public key).
One-legged means there is no token: ``oauth_token`` is absent or empty and the token
secret is the empty string.

What this module implements, by section of RFC 5849:

- §3.1 protocol parameters: ``oauth_consumer_key``, ``oauth_signature_method``,
  ``oauth_signature``, ``oauth_timestamp``, ``oauth_nonce`` are required (timestamp and
  nonce also for ``PLAINTEXT``, stricter than §3.1 allows, so every request is replay
  protected); ``oauth_version``, when present, must be ``1.0``.
- §3.2 verification: malformed or duplicated parameters and unsupported signature methods
  are 400 (:class:`~authgate.errors.InvalidRequest`); everything wrong with a presented
  credential (unknown consumer key, bad signature, stale timestamp, reused nonce, a token)
  is the uniform 401 (:class:`~authgate.errors.InvalidCredentials`).
- §3.3 nonce and timestamp: a timestamp more than ``window`` seconds from the injected
  clock either way is refused; a nonce is remembered through the
  :class:`~authgate.replay.ReplayCache` port for as long as its timestamp stays acceptable.
- §3.4.1 signature base string: built with oauthlib's ``collect_parameters``,
  ``normalize_parameters``, ``base_string_uri`` and ``signature_base_string``, from the
  request's scheme, authority and raw path (§3.4.1.2: default ports dropped).
- §3.4.2 ``HMAC-SHA1`` and its SHA-256 sibling ``HMAC-SHA256`` (oauthlib's signers);
  §3.4.3 RSASSA-PKCS1-v1_5, here with SHA-256 (``RSA-SHA256``) and verified with
  pyca/cryptography against a key pinned to ``rsa-sha256``; §3.4.4 ``PLAINTEXT``, only
  over https.
- §3.5 parameter transmission: the ``Authorization: OAuth`` header (§3.5.1), an
  ``application/x-www-form-urlencoded`` body (§3.5.2) or the query string (§3.5.3) — exactly
  one of them; ``oauth_*`` parameters in two places are refused.
- §3.6 percent-encoding: ``oauth_*`` values in the header must be encoded as §3.6 says.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hmac
import re
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oauthlib import common as _oauthlib_common
from oauthlib.oauth1.rfc5849 import signature as _oauthlib_signature

from authgate.credentials import CredentialResolver, PublicKeyResolver
from authgate.errors import InvalidCredentials, InvalidRequest, PayloadTooLarge, Unauthorized
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.replay import ReplayCache

__all__ = [
    "SIGNATURE_METHODS",
    "OAuth1Authenticator",
    "OAuth1Request",
    "parse_request",
    "sign_hmac",
    "sign_plaintext",
    "verify_rsa_sha256",
]

Params = list[tuple[str, str]]

SIGNATURE_METHODS: Final = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA256", "PLAINTEXT")
"""Every signature method this module can verify; the authenticator allows a subset."""

_RSA_ALGORITHM: Final = "rsa-sha256"  # the PublicKeyCredential.algorithm RSA-SHA256 needs
_MIN_RSA_BITS: Final = 2048
_FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"

# Size caps: refuse absurd input before doing any work on it.
_MAX_HEADER_CHARS: Final = 8192
_MAX_KEY_CHARS: Final = 256
_MAX_NONCE_CHARS: Final = 256
_MAX_SIGNATURE_CHARS: Final = 2048
_MAX_TIMESTAMP_DIGITS: Final = 12

_REQUIRED: Final = (
    "oauth_consumer_key",
    "oauth_signature_method",
    "oauth_signature",
    "oauth_timestamp",
    "oauth_nonce",
)

# One auth-param of the Authorization header (RFC 5849 §3.5.1, RFC 7235 §2.1): a token, "=",
# a quoted-string, then a comma or the end. Backslash escapes are kept for ``realm`` only;
# oauth_* values are checked against the §3.6 alphabet afterwards.
_AUTH_PARAM: Final = re.compile(
    r'[ \t\r\n]*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t\r\n]*(,|\Z)'
)
_ENCODED_VALUE: Final = re.compile(r"[A-Za-z0-9%._~-]*")
_AUTHORITY: Final = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_WS: Final = " \t\r\n"


@dataclass(frozen=True, slots=True)
class OAuth1Request:
    """An OAuth 1.0a request as parsed and checked for shape, not yet verified.

    Attributes:
        consumer_key: ``oauth_consumer_key``.
        signature_method: ``oauth_signature_method`` (e.g. ``HMAC-SHA1``).
        signature: ``oauth_signature``, percent-decoded.
        timestamp: ``oauth_timestamp`` in seconds since the epoch.
        nonce: ``oauth_nonce``.
        token: ``oauth_token``, or ``""`` when absent.
        base_string: the signature base string (RFC 5849 §3.4.1.1).
    """

    consumer_key: str
    signature_method: str
    signature: str
    timestamp: int
    nonce: str
    token: str
    base_string: str


@dataclass(frozen=True, slots=True)
class _Secrets:
    """The shape oauthlib's ``sign_*_with_client`` functions read secrets from."""

    client_secret: str
    resource_owner_secret: str


def _bad_request(reason: str) -> InvalidRequest:
    return InvalidRequest(reason=f"oauth1: {reason}")


def _parse_authorization(value: str) -> Params:
    """The auth-params of an ``OAuth`` Authorization header, ``realm`` left out (§3.5.1).

    Values stay percent-encoded, as oauthlib's ``collect_parameters`` expects.
    """
    if len(value) > _MAX_HEADER_CHARS:
        raise PayloadTooLarge(reason="oauth1: Authorization header too large")
    pairs: Params = []
    seen: set[str] = set()
    pos = len("OAuth")
    end = len(value)
    while True:
        while pos < end and value[pos] in _WS:
            pos += 1
        if pos >= end:
            return pairs
        match = _AUTH_PARAM.match(value, pos)
        if match is None:
            raise _bad_request("malformed Authorization header")
        name, raw = match.group(1), match.group(2)
        if name in seen:
            raise _bad_request("duplicated parameter in Authorization header")
        seen.add(name)
        if name != "realm":
            # Only protocol parameters belong in the header, encoded per §3.6.
            if not name.startswith("oauth_"):
                raise _bad_request("non-oauth parameter in Authorization header")
            if _ENCODED_VALUE.fullmatch(raw) is None:
                raise _bad_request("Authorization header value not percent-encoded")
            pairs.append((name, raw))
        if match.group(3) != ",":
            return pairs
        pos = match.end()


def _urldecode(text: str) -> Params:
    """Form-decode ``text`` with oauthlib's strict ``urldecode`` (the client's own rules)."""
    try:
        return cast(Params, _oauthlib_common.urldecode(text))
    except ValueError as exc:
        raise _bad_request("malformed form-encoded parameters") from exc


def _is_oauth_header(value: str | None) -> bool:
    """True when an Authorization header value uses the ``OAuth`` scheme (case-insensitive)."""
    return value is not None and value[:5].lower() == "oauth" and value[5:6] in ("", " ", "\t")


def _form_body(request: RequestView) -> Params:
    """Parameters of a single-part form body (§3.4.1.3.1), else nothing."""
    content_types = request.headers.get_all("content-type")
    if len(content_types) > 1:
        # Which one counts would decide whether the body is signed: refuse the ambiguity.
        raise _bad_request("more than one Content-Type header")
    if not content_types or not request.body:
        return []
    media_type = content_types[0].split(";", 1)[0].strip().lower()
    if media_type != _FORM_MEDIA_TYPE:
        return []
    try:
        text = request.body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _bad_request("form body is not form-encoded") from exc
    return _urldecode(text)


def _base_string_uri(request: RequestView) -> str:
    """The base string URI (§3.4.1.2) from the request's scheme, authority and raw path."""
    scheme = request.scheme.lower()
    if scheme not in ("http", "https"):
        raise _bad_request("scheme is not http or https")
    if _AUTHORITY.fullmatch(request.authority) is None:
        raise _bad_request("malformed authority")
    path = request.path or "/"
    if not path.startswith("/"):
        raise _bad_request("malformed path")
    try:
        return cast(
            str, _oauthlib_signature.base_string_uri(f"{scheme}://{request.authority}{path}")
        )
    except ValueError as exc:  # port out of range, unparseable host
        raise _bad_request("malformed authority") from exc


def parse_request(request: RequestView) -> OAuth1Request:
    """Collect the OAuth parameters of ``request`` and build its signature base string.

    Parameters come from exactly one of the ``Authorization: OAuth`` header, the query
    string and a form body (RFC 5849 §3.5); all request parameters of the three sources are
    signed (§3.4.1.3).

    Args:
        request: the request to read.

    Returns:
        The parsed request; nothing about it has been verified yet.

    Raises:
        Unauthorized: the request carries no ``oauth_*`` parameters at all.
        InvalidRequest: malformed, missing or duplicated parameters, parameters in more than
            one place, a bad ``oauth_version`` or timestamp, a malformed URL.
        PayloadTooLarge: an oversized Authorization header.
    """
    authorizations = request.headers.get_all("authorization")
    if len(authorizations) > 1:
        raise _bad_request("more than one Authorization header")
    header: Params = []
    if authorizations and _is_oauth_header(authorizations[0]):
        header = _parse_authorization(authorizations[0])
    query = _urldecode(request.query) if request.query else []
    body = _form_body(request)

    places = [src for src in (header, query, body) if any(k.startswith("oauth_") for k, _ in src)]
    if not places:
        raise Unauthorized(reason="oauth1: no OAuth parameters")
    if len(places) > 1:
        raise _bad_request("oauth parameters in more than one place")
    names = [k for k, _ in places[0] if k.startswith("oauth_")]
    if len(names) != len(set(names)):
        raise _bad_request("duplicated oauth parameter")

    # oauthlib percent-decodes every oauth_* value once more, for every source, exactly as
    # its client does when signing; the signed list and the protocol values are one list.
    params = cast(
        Params,
        _oauthlib_signature.collect_parameters(
            body=[*query, *header, *body], exclude_oauth_signature=False
        ),
    )
    protocol = {k: v for k, v in params if k.startswith("oauth_")}
    missing = [name for name in _REQUIRED if not protocol.get(name)]
    if missing:
        raise _bad_request(f"missing {', '.join(missing)}")
    version = protocol.get("oauth_version")
    if version is not None and version != "1.0":
        raise _bad_request("oauth_version is not 1.0")
    timestamp = protocol["oauth_timestamp"]
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise _bad_request("oauth_timestamp is not a positive integer")
    consumer_key = protocol["oauth_consumer_key"]
    nonce = protocol["oauth_nonce"]
    signature = protocol["oauth_signature"]
    if (
        len(consumer_key) > _MAX_KEY_CHARS
        or len(nonce) > _MAX_NONCE_CHARS
        or len(signature) > _MAX_SIGNATURE_CHARS
    ):
        raise _bad_request("oversized oauth parameter")

    normalized = _oauthlib_signature.normalize_parameters(
        [(k, v) for k, v in params if k != "oauth_signature"]
    )
    base_string = _oauthlib_signature.signature_base_string(
        request.method, _base_string_uri(request), normalized
    )
    return OAuth1Request(
        consumer_key=consumer_key,
        signature_method=protocol["oauth_signature_method"],
        signature=signature,
        timestamp=int(timestamp),
        nonce=nonce,
        token=protocol.get("oauth_token", ""),
        base_string=cast(str, base_string),
    )


_HMAC_SIGNERS: Final[dict[str, Callable[[str, _Secrets], str]]] = {
    "HMAC-SHA1": _oauthlib_signature.sign_hmac_sha1_with_client,
    "HMAC-SHA256": _oauthlib_signature.sign_hmac_sha256_with_client,
}


def sign_hmac(method: str, base_string: str, consumer_secret: str, token_secret: str = "") -> str:
    """The ``oauth_signature`` of an HMAC method (RFC 5849 §3.4.2), computed by oauthlib.

    Args:
        method: ``HMAC-SHA1`` or ``HMAC-SHA256``.
        base_string: the signature base string.
        consumer_secret: the consumer (client) shared secret.
        token_secret: the token shared secret; empty for one-legged requests.

    Returns:
        The base64 signature.

    Raises:
        InvalidRequest: ``method`` is not an HMAC method.
    """
    signer = _HMAC_SIGNERS.get(method)
    if signer is None:
        raise _bad_request("not an HMAC signature method")
    return signer(base_string, _Secrets(consumer_secret, token_secret))


def sign_plaintext(consumer_secret: str, token_secret: str = "") -> str:
    """The ``PLAINTEXT`` signature (RFC 5849 §3.4.4): both secrets encoded, joined by ``&``.

    Args:
        consumer_secret: the consumer (client) shared secret.
        token_secret: the token shared secret; empty for one-legged requests.

    Returns:
        The signature value.
    """
    secrets_ = _Secrets(consumer_secret, token_secret)
    return cast(str, _oauthlib_signature.sign_plaintext_with_client("", secrets_))


@functools.lru_cache(maxsize=256)
def _load_rsa_public_key(pem: bytes) -> rsa.RSAPublicKey | None:
    """The RSA public key in ``pem`` if it is one of at least 2048 bits, else None."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < _MIN_RSA_BITS:
        return None
    return key


def verify_rsa_sha256(base_string: str, signature: str, public_key_pem: bytes) -> None:
    """Verify an ``RSA-SHA256`` signature: RSASSA-PKCS1-v1_5 with SHA-256 (§3.4.3).

    Args:
        base_string: the signature base string.
        signature: the base64 ``oauth_signature``.
        public_key_pem: the consumer's registered RSA public key (≥ 2048 bits), PEM.

    Raises:
        InvalidCredentials: the signature, its encoding or the key is not valid.
    """
    key = _load_rsa_public_key(public_key_pem)
    if key is None:
        raise InvalidCredentials(reason="oauth1: registered key is not a usable RSA key")
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise InvalidCredentials(reason="oauth1: signature is not base64") from exc
    try:
        key.verify(raw, base_string.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidCredentials(reason="oauth1: signature mismatch") from exc


def _equal(expected: str, presented: str) -> bool:
    """Constant-time comparison on bytes; non-ASCII input is simply unequal, never a crash.

    ``hmac.compare_digest`` raises TypeError on non-ASCII ``str``, which would be a 500.
    """
    try:
        presented_bytes = presented.encode("ascii")
    except UnicodeEncodeError:
        presented_bytes = b""
    return hmac.compare_digest(expected.encode("ascii"), presented_bytes)


class OAuth1Authenticator:
    """Verifies one-legged OAuth 1.0a requests signed with an authgate key pair.

    Args:
        resolver: finds the key pair whose key is the consumer key (HMAC, PLAINTEXT).
        public_keys: finds the RSA public key registered as the consumer key (RSA-SHA256);
            None when no public keys are registered.
        replay: remembers nonces (shared across instances through Redis in production).
        window: accepted distance of ``oauth_timestamp`` from now, in seconds, either way.
        clock: seconds since the epoch; injected for tests.
        methods: the signature methods to accept, a subset of :data:`SIGNATURE_METHODS`.

    Raises:
        ValueError: ``methods`` is empty or names an unknown method, or ``window`` ≤ 0.
    """

    name = "oauth1"
    challenge = 'OAuth realm="authgate"'
    needs_body = True
    cacheable = False  # a signature covers the whole request
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ("oauth_signature", "oauth_consumer_key")

    def __init__(
        self,
        resolver: CredentialResolver,
        public_keys: PublicKeyResolver | None,
        replay: ReplayCache,
        *,
        window: float = 600.0,
        clock: Callable[[], float] = time.time,
        methods: Collection[str] = SIGNATURE_METHODS,
    ) -> None:
        unknown = set(methods) - set(SIGNATURE_METHODS)
        if unknown:
            raise ValueError(f"unknown OAuth 1.0a signature methods: {sorted(unknown)}")
        if not methods:
            raise ValueError("at least one OAuth 1.0a signature method must be allowed")
        if window <= 0:
            raise ValueError("window must be positive")
        self._resolver = resolver
        self._public_keys = public_keys
        self._replay = replay
        self._window = float(window)
        self._clock = clock
        self._methods = frozenset(methods)
        # Signs for unknown consumer keys, so they cost the same as a wrong signature.
        self._dummy_secret = secrets.token_urlsafe(32)

    def is_present(self, request: RequestView) -> bool:
        """True for an ``Authorization: OAuth`` header or ``oauth_signature`` in the query.

        A form body is looked at only when the body was already read (``request.body``).
        """
        if _is_oauth_header(request.headers.get("authorization")):
            return True
        if "oauth_signature" in request.query and _has_signature(request.query):
            return True
        # The body is known here only when it was read before the chain asked.
        if request.body and b"oauth_signature" in request.body:
            content_type = request.headers.get("content-type") or ""
            media_type = content_type.split(";", 1)[0].strip().lower()
            return media_type == _FORM_MEDIA_TYPE and _has_signature(request.body)
        return False

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the request and return who signed it.

        Args:
            request: the request; its ``body`` must be set for form-encoded bodies.

        Returns:
            The key's identity with ``scheme="oauth1"``.

        Raises:
            InvalidRequest: malformed request, or a signature method not allowed (400).
            InvalidCredentials: anything wrong with the credential itself (401).
            Unauthorized: the request carries no OAuth parameters at all (401).
            PayloadTooLarge: the Authorization header is over 8 KiB (413).
        """
        try:
            parsed = parse_request(request)
        except Unauthorized as exc:
            raise Unauthorized(reason=exc.reason, challenges=(self.challenge,)) from None
        method = parsed.signature_method
        if method not in self._methods:
            raise _bad_request(f"signature method {method[:32]!r} not allowed")
        if method == "PLAINTEXT" and request.scheme.lower() != "https":
            # §3.4.4: PLAINTEXT sends the secret itself; never over cleartext transport.
            raise _bad_request("PLAINTEXT is accepted over https only")
        if parsed.token:
            raise self._refuse("oauth_token given to a one-legged endpoint")
        skew = parsed.timestamp - self._clock()
        if abs(skew) > self._window:
            raise self._refuse("stale oauth_timestamp")

        if method == "RSA-SHA256":
            identity = await self._verify_rsa(parsed)
        else:
            identity = await self._verify_shared_secret(parsed)

        # The nonce is recorded only after the signature verified, so nobody can burn a
        # legitimate client's nonces. It must be remembered until its timestamp goes stale:
        # up to 2 × window for a timestamp from the future.
        ttl = max(skew + self._window, 1.0)
        if not await self._replay.check_and_store(_replay_key(parsed), ttl):
            raise self._refuse("reused oauth_nonce")
        return dataclasses.replace(identity, scheme=self.name)

    async def _verify_shared_secret(self, parsed: OAuth1Request) -> Identity:
        cred = await self._resolver.resolve_key_pair(parsed.consumer_key)
        secret = cred.secret.reveal() if cred is not None else self._dummy_secret
        if parsed.signature_method == "PLAINTEXT":
            expected = sign_plaintext(secret)
        else:
            expected = sign_hmac(parsed.signature_method, parsed.base_string, secret)
        matches = _equal(expected, parsed.signature)
        if cred is None:
            raise self._refuse("unknown consumer key")
        if not matches:
            raise self._refuse("signature mismatch")
        return cred.identity

    async def _verify_rsa(self, parsed: OAuth1Request) -> Identity:
        if self._public_keys is None:
            raise self._refuse("no public keys registered")
        cred = await self._public_keys.resolve_public_key(parsed.consumer_key)
        if cred is None:
            raise self._refuse("unknown consumer key")
        if cred.algorithm != _RSA_ALGORITHM:  # the algorithm is pinned per key
            raise self._refuse("key not registered for rsa-sha256")
        try:
            verify_rsa_sha256(parsed.base_string, parsed.signature, cred.public_key_pem)
        except InvalidCredentials as exc:
            raise self._refuse(exc.reason) from None
        return cred.identity

    def _refuse(self, reason: str) -> InvalidCredentials:
        reason = reason if reason.startswith("oauth1: ") else f"oauth1: {reason}"
        return InvalidCredentials(reason=reason, challenges=(self.challenge,))


def _has_signature(form: str | bytes) -> bool:
    text = form.decode("latin-1") if isinstance(form, bytes) else form
    try:
        return any(name == "oauth_signature" for name, _ in _oauthlib_common.urldecode(text))
    except ValueError:
        return False


def _replay_key(parsed: OAuth1Request) -> str:
    # Length-prefixed, so no consumer key / nonce pair can collide with another.
    key, nonce = parsed.consumer_key, parsed.nonce
    return f"oauth1:{len(key)}:{key}:{len(nonce)}:{nonce}:{parsed.timestamp}"
