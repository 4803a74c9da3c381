"""The simple ``Authorization: HMAC-SHA256`` request-signing scheme, for humans and curl.

Specified in ``docs/schemes/hmac-simple.md`` (the normative text; keep the two in step).
Shaped like AWS SigV4's canonical request without the key derivation, so it can be
computed with ``openssl dgst -sha256 -hmac``::

    Authorization: HMAC-SHA256 Credential=<key>,
        SignedHeaders=host;x-authgate-date;x-authgate-nonce,
        Signature=<lower-case hex HMAC-SHA256(secret, canonical string)>
    X-Authgate-Date: <Unix seconds>
    X-Authgate-Nonce: <8-128 characters of A-Z a-z 0-9 . _ ~ ->

The canonical string is the method, the path, the canonical query, one ``name:value``
line per signed header, and the hex SHA-256 of the body, joined by ``\\n``. The auth
scheme name is case-insensitive (RFC 9110 §11.1); the date must be within ±window of the
server clock and the nonce is remembered for as long as the signature could be accepted,
so a replay fails (the replay-protection approach of RFC 9421 §7.2.2, applied here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import time
from collections.abc import Callable

from authgate.credentials import CredentialResolver
from authgate.errors import InvalidCredentials, InvalidRequest
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.replay import ReplayCache

__all__ = [
    "DATE_HEADER",
    "NONCE_HEADER",
    "REQUIRED_SIGNED_HEADERS",
    "HmacSimpleAuthenticator",
    "canonical_string",
]

SCHEME = "HMAC-SHA256"
DATE_HEADER = "x-authgate-date"
NONCE_HEADER = "x-authgate-nonce"
REQUIRED_SIGNED_HEADERS = frozenset({"host", DATE_HEADER, NONCE_HEADER})
_MAX_AUTHORIZATION = 4096
_MAX_SIGNED_HEADERS = 32
_AUTHORIZATION = re.compile(
    r"HMAC-SHA256 +Credential=([!-+\--~]{1,256}), *"  # any visible ASCII but ','
    r"SignedHeaders=([a-z0-9!#$%&'*+.^_`|~;-]{1,1024}), *"
    r"Signature=([0-9a-f]{64})",
    re.IGNORECASE,
)
_DATE = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[A-Za-z0-9._~-]{8,128}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
# An unknown key is "verified" with this, so it costs what a wrong secret costs.
_DUMMY_KEY = b"\x00" * 32


def canonical_query(query: str) -> str:
    """The raw query's ``&``-separated pieces, empty ones dropped, sorted by byte value."""
    return "&".join(sorted(p for p in query.split("&") if p))


def canonical_string(request: RequestView, signed_headers: list[str]) -> str:
    """The string to sign for ``request`` (docs/schemes/hmac-simple.md, "Canonical string").

    Args:
        request: the request as received.
        signed_headers: lower-case header names, in the order of ``SignedHeaders``.

    Raises:
        InvalidRequest: a signed header is missing, repeated, or not printable ASCII.
    """
    lines = [request.method, request.path or "/", canonical_query(request.query)]
    for name in signed_headers:
        if name == "host":
            value = request.authority.lower()
        else:
            values = request.headers.get_all(name)
            if len(values) != 1:
                raise InvalidRequest(f"signed header {name} must appear exactly once")
            value = values[0].strip(" \t")
        if not value.isascii() or not value.replace("\t", " ").isprintable():
            raise InvalidRequest(f"signed header {name} must be printable ASCII")
        lines.append(f"{name}:{value}")
    lines.append(hashlib.sha256(request.body or b"").hexdigest())
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True, slots=True)
class _Authorization:
    key: str
    signed_headers: list[str]
    signature: str


def _parse_authorization(request: RequestView) -> _Authorization:
    values = request.headers.get_all("authorization")
    if len(values) != 1:
        raise InvalidRequest("exactly one Authorization header is allowed")
    value = values[0].strip(" \t")
    if len(value) > _MAX_AUTHORIZATION:
        raise InvalidRequest("the Authorization header is too long")
    m = _AUTHORIZATION.fullmatch(value)
    if m is None:
        raise InvalidRequest(
            "expected: HMAC-SHA256 Credential=<key>, SignedHeaders=<a;b;c>, Signature=<hex>"
        )
    key, signed, signature = m.groups()
    names = signed.split(";")
    if (
        len(names) > _MAX_SIGNED_HEADERS
        or len(set(names)) != len(names)
        or not all(_HEADER_NAME.fullmatch(n) for n in names)
    ):
        raise InvalidRequest("SignedHeaders must be distinct lower-case header names")
    missing = REQUIRED_SIGNED_HEADERS.difference(names)
    if missing:
        raise InvalidRequest("SignedHeaders must include " + ";".join(sorted(missing)))
    if signature != signature.lower():
        raise InvalidRequest("Signature must be lower-case hex")
    return _Authorization(key, names, signature)


class HmacSimpleAuthenticator:
    """Verifies ``Authorization: HMAC-SHA256`` requests signed with an authgate key pair.

    Args:
        resolver: looks up the key pair named by ``Credential``; the HMAC key is the
            UTF-8 bytes of its secret.
        replay: the nonce store shared by every instance.
        window: seconds ``X-Authgate-Date`` may differ from the clock, either way.
        clock: returns the current Unix time; injected for tests.
    """

    name = "hmac"
    challenge = 'HMAC-SHA256 realm="authgate"'
    needs_body = True
    cacheable = False  # a signature covers the whole request
    credential_headers: tuple[str, ...] = ("authorization",)
    credential_params: tuple[str, ...] = ()

    def __init__(
        self,
        resolver: CredentialResolver,
        replay: ReplayCache,
        *,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self._resolver = resolver
        self._replay = replay
        self._window = window
        self._clock = clock

    def is_present(self, request: RequestView) -> bool:
        """True when an ``Authorization`` header uses the ``HMAC-SHA256`` scheme."""
        value = request.headers.get("authorization")
        return value is not None and value[:12].upper() == "HMAC-SHA256 "

    def _fail(self, reason: str) -> InvalidCredentials:
        return InvalidCredentials(reason=reason, challenges=(self.challenge,))

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the signature and return the key pair's identity.

        Raises:
            InvalidRequest: malformed ``Authorization``, date or nonce; a required
                header not signed; a signed header missing or repeated.
            InvalidCredentials: unknown key, wrong signature, date outside the window,
                replayed nonce.
        """
        auth = _parse_authorization(request)
        date = request.headers.get_all(DATE_HEADER)
        nonce = request.headers.get_all(NONCE_HEADER)
        if len(date) != 1 or not _DATE.fullmatch(date[0].strip(" \t")):
            raise InvalidRequest("X-Authgate-Date must be one Unix time in seconds")
        if len(nonce) != 1 or not _NONCE.fullmatch(nonce[0].strip(" \t")):
            raise InvalidRequest("X-Authgate-Nonce must be 8-128 characters of A-Za-z0-9._~-")
        signed_at = int(date[0].strip(" \t"))
        nonce_value = nonce[0].strip(" \t")
        now = self._clock()
        if abs(signed_at - now) > self._window:
            raise self._fail("date outside the window")
        message = canonical_string(request, auth.signed_headers).encode("ascii")
        pair = await self._resolver.resolve_key_pair(auth.key)
        key = pair.secret.reveal_bytes() if pair is not None else _DUMMY_KEY
        expected = hmac.new(key or _DUMMY_KEY, message, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii"))
        if pair is None or not pair.secret.reveal_bytes() or not valid:
            raise self._fail("unknown key or bad signature")
        ttl = max(self._window, signed_at + self._window - now)
        if not await self._replay.check_and_store(f"hmac:{auth.key}:{nonce_value}", ttl):
            raise self._fail("nonce replayed")
        return dataclasses.replace(pair.identity, scheme=self.name)
