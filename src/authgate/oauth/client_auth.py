"""Client authentication at the token, introspection and revocation endpoints, sans-I/O.

RFC 6749 §2.3 (client authentication; §2.3.1: with HTTP Basic, the client id and secret
are *form-urlencoded* before base64, and the ``client_secret`` body parameter is the
alternative), §3.2.1 (a confidential client must authenticate), §5.2 (``invalid_client``
is a 401 with a ``WWW-Authenticate`` challenge when the client used Basic); RFC 7523 §2.2
and §3 (``private_key_jwt``: a JWT signed by the client's registered key, ``iss`` = ``sub``
= client_id, ``aud`` naming the authorization server, ``exp`` required, ``jti`` single use);
RFC 7591 §2 (``token_endpoint_auth_method`` names); RFC 9700 §2.5.

Exactly one method per request: Basic *and* ``client_secret`` in the body, or a secret and
an assertion, is ``invalid_request`` (RFC 6749 §2.3: "MUST NOT use more than one
authentication method in each request"). A client must use the method it registered.
Secrets are compared as HMAC digests with :func:`hmac.compare_digest`, also for unknown
clients, so an unknown client and a wrong secret cost the same and answer the same.

The caller does the I/O: look the client up (:meth:`ClientService.lookup`) and, for an
assertion, record its ``jti`` in the replay cache (:class:`VerifiedAssertion` says for how
long).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authgate.errors import InvalidRequest
from authgate.oauth.clients import ClientRecord
from authgate.oauth.errors import invalid_client

__all__ = [
    "ASSERTION_ALGORITHMS",
    "JWT_BEARER_ASSERTION",
    "PresentedClient",
    "VerifiedAssertion",
    "extract_client",
    "verify_client",
]

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Asymmetric algorithms only: no ``none``, no HMAC with a public key (RFC 8725 §3.1-3.2).
ASSERTION_ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")
_MAX_ASSERTION = 8192
_MAX_ASSERTION_LIFETIME = 600  # an assertion valid for longer is refused (RFC 7523 §3 (4))
_MAX_JTI = 256
_DUMMY_DIGEST = "0" * 64


@dataclass(frozen=True, slots=True)
class PresentedClient:
    """The client credentials one request carries.

    Attributes:
        method: ``client_secret_basic``, ``client_secret_post``, ``private_key_jwt``
            or ``none``.
        client_id: the claimed client id (for an assertion without ``client_id``, its
            unverified ``sub``).
        secret: the secret (secret methods).
        assertion: the compact JWT (``private_key_jwt``).
    """

    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None

    @property
    def basic(self) -> bool:
        """True when the client used HTTP Basic (its failures carry a Basic challenge)."""
        return self.method == "client_secret_basic"

    def __repr__(self) -> str:
        return f"PresentedClient(method={self.method!r}, client_id={self.client_id!r}, ***)"


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """A valid client assertion whose ``jti`` the caller must record as used.

    Attributes:
        replay_key: the replay-cache key (client and ``jti``).
        ttl: seconds to remember it (until the assertion expires, plus leeway).
    """

    replay_key: str
    ttl: float


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise invalid_client("authorization is not Basic", basic=True)
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_client("bad Basic encoding", basic=True) from None
    user, sep, password = raw.partition(":")
    if not sep or not user:
        raise invalid_client("Basic without client id", basic=True)
    # RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded first.
    return unquote_plus(user), unquote_plus(password)


def _assertion_subject(assertion: str) -> str:
    """The unverified ``sub`` of an assertion, only to find the client's keys."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error, RecursionError):
        raise invalid_client("malformed assertion", basic=False) from None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        raise invalid_client("assertion without sub", basic=False)
    return sub


def extract_client(authorization: str | None, form: Mapping[str, str]) -> PresentedClient | None:
    """The client credentials of a request, or None when it names no client at all.

    Args:
        authorization: the ``Authorization`` header, if any.
        form: the (duplicate-free) form parameters.

    Raises:
        InvalidRequest: more than one method, or ids that disagree.
        InvalidClient: a malformed Basic header or assertion.
    """
    form_id = form.get("client_id")
    secret = form.get("client_secret")
    assertion_type = form.get("client_assertion_type")
    assertion = form.get("client_assertion")
    methods = sum(x is not None for x in (authorization, secret, assertion))
    if methods > 1:
        raise InvalidRequest("Use exactly one client authentication method.")
    if authorization is not None:
        client_id, basic_secret = _basic(authorization)
        if form_id is not None and form_id != client_id:
            raise InvalidRequest("client_id differs from the authenticated client.")
        return PresentedClient("client_secret_basic", client_id, secret=basic_secret)
    if secret is not None:
        if form_id is None:
            raise InvalidRequest("client_secret needs client_id.")
        return PresentedClient("client_secret_post", form_id, secret=secret)
    if assertion is not None or assertion_type is not None:
        if assertion_type != JWT_BEARER_ASSERTION or not assertion:
            raise InvalidRequest("client_assertion_type must be jwt-bearer with an assertion.")
        if len(assertion) > _MAX_ASSERTION:
            raise invalid_client("assertion too large", basic=False)
        sub = _assertion_subject(assertion)
        if form_id is not None and form_id != sub:
            raise invalid_client("client_id differs from the assertion's sub", basic=False)
        return PresentedClient("private_key_jwt", sub, assertion=assertion)
    if form_id is not None:
        return PresentedClient("none", form_id)
    return None


def verify_client(
    presented: PresentedClient,
    record: ClientRecord | None,
    *,
    secret_digest: Callable[[str], str],
    audiences: tuple[str, ...],
    now: float,
    leeway: int = 30,
) -> VerifiedAssertion | None:
    """Check ``presented`` against the registered client (None: unknown client).

    Args:
        presented: from :func:`extract_client`.
        record: the active client with that id, or None.
        secret_digest: the keyed digest of a secret (as stored).
        audiences: acceptable assertion ``aud`` values (token endpoint URL, issuer).
        now: the current time, seconds since the epoch.
        leeway: clock skew accepted for assertions, seconds.

    Returns:
        For ``private_key_jwt``, the assertion's replay entry (the caller must store it
        and refuse the request if it was already there); otherwise None.

    Raises:
        InvalidClient: unknown client, wrong method, wrong secret, bad assertion.
    """
    basic = presented.basic
    if presented.secret is not None:
        stored = record.secret_digest if record is not None else None
        # Always one digest and one constant-time compare: unknown == wrong secret.
        ok = hmac.compare_digest(
            secret_digest(presented.secret).encode(), (stored or _DUMMY_DIGEST).encode()
        )
        if record is None or stored is None or not ok:
            raise invalid_client("unknown client or wrong secret", basic=basic)
    if record is None:
        raise invalid_client("unknown client", basic=basic)
    if presented.method != record.auth_method:
        raise invalid_client(f"registered for {record.auth_method}", basic=basic)
    if presented.method == "none":
        if not record.public:
            raise invalid_client("confidential client without authentication", basic=False)
        return None
    if presented.assertion is not None:
        return _verify_assertion(presented, record, audiences, now, leeway)
    return None


def _verify_assertion(
    presented: PresentedClient,
    record: ClientRecord,
    audiences: tuple[str, ...],
    now: float,
    leeway: int,
) -> VerifiedAssertion:
    assert presented.assertion is not None  # noqa: S101 - private_key_jwt
    if record.jwks is None:
        raise invalid_client("no registered keys", basic=False)
    try:
        keys = KeySet.import_key_set(record.jwks)  # type: ignore[arg-type]
        token = jwt.decode(presented.assertion, keys, algorithms=list(ASSERTION_ALGORITHMS))
    except (JoseError, ValueError, TypeError, KeyError, IndexError):
        raise invalid_client("assertion signature", basic=False) from None
    claims: dict[str, Any] = dict(token.claims)
    cid = record.client_id
    if claims.get("iss") != cid or claims.get("sub") != cid:
        raise invalid_client("assertion iss/sub", basic=False)
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in auds):
        raise invalid_client("assertion aud", basic=False)
    exp, iat, nbf, jti = claims.get("exp"), claims.get("iat"), claims.get("nbf"), claims.get("jti")
    if type(exp) is not int or now >= exp + leeway:
        raise invalid_client("assertion expired or without exp", basic=False)
    start = iat if type(iat) is int else int(now)
    if exp - start > _MAX_ASSERTION_LIFETIME or (type(iat) is int and iat > now + leeway):
        raise invalid_client("assertion lifetime", basic=False)
    if nbf is not None and (type(nbf) is not int or nbf > now + leeway):
        raise invalid_client("assertion nbf", basic=False)
    if type(jti) is not str or not 0 < len(jti) <= _MAX_JTI:
        raise invalid_client("assertion without jti", basic=False)
    return VerifiedAssertion(f"oauth-assertion:{cid}:{jti}", max(1.0, exp + leeway - now))
