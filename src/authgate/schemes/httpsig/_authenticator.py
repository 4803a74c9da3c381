"""Server-side verification of RFC 9421 HTTP Message Signatures on requests (§3.2).

The steps of §3.2, in the order that keeps failures cheap and uniform:

1. parse ``Signature-Input`` and ``Signature`` (§4.1, §4.2; RFC 8941 dictionaries) and
   select one signature (the configured label, else the first member);
2. check the signature parameters (§2.3): ``keyid`` and ``created`` required, ``expires``
   and ``nonce`` typed, the nonce required unless configured otherwise;
3. apply the verifier's policy (§3.2.1, §7.2.1): required covered components,
   ``content-digest`` (RFC 9530) covered whenever the request has a body, and the query
   (``@query``, ``@target-uri`` or ``@request-target``) covered whenever the request has
   one, so nobody can add ``&admin=true`` to a signed request (§7.2.1, §7.2.8);
4. enforce time (§7.2.4): ``created`` within ±window of the injected clock, ``expires``
   not past;
5. build the signature base (§2.5) and check ``content-digest`` against the body;
6. resolve the key and pin its algorithm (§3.2 step 6, §7.3.6): a key pair verifies
   only ``hmac-sha256``; a public key only the algorithm it was registered with;
7. verify the signature (§3.3), then record the nonce (§7.2.2) so a replay inside the
   window fails.

Syntax errors and unmet policy answer 400 (:class:`~authgate.errors.InvalidRequest`)
with a description that says what to fix; everything that depends on the key, the
signature or time answers one uniform 401 (:class:`~authgate.errors.InvalidCredentials`).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterable, Sequence

from authgate.credentials import CredentialResolver, PublicKeyResolver
from authgate.errors import InvalidCredentials, InvalidRequest
from authgate.http.headers import Headers
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.replay import ReplayCache

from ._algorithms import ASYMMETRIC_ALGORITHMS, HMAC_SHA256, is_valid_asymmetric, is_valid_hmac
from ._base import ComponentMissing, covered_names, signature_base
from ._digest import is_valid_content_digest
from ._sf import InnerList, Item, StructuredFieldError, Token, parse_dictionary

__all__ = [
    "DEFAULT_REQUIRED_COMPONENTS",
    "QUERY_COMPONENTS",
    "HttpSigAuthenticator",
    "SignatureParams",
]

#: ``@method``, ``@authority`` and one of the components that pin the path.
DEFAULT_REQUIRED_COMPONENTS: tuple[str | tuple[str, ...], ...] = (
    "@method",
    "@authority",
    ("@path", "@target-uri", "@request-target"),
)
#: The components of which one must be covered when the request has a query: each of
#: them pins the whole query string (``@query-param`` pins only the parameters it names).
QUERY_COMPONENTS = frozenset({"@query", "@target-uri", "@request-target"})
_MAX_SIGNATURES = 8
_MAX_PARAM_LEN = 256
# Keys an unknown keyid is "verified" with, so it costs what a wrong secret costs.
_DUMMY_KEY = secrets.token_bytes(32)


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureParams:
    """The signature parameters of RFC 9421 §2.3 that authgate acts on."""

    keyid: str
    created: int
    expires: int | None
    nonce: str | None
    alg: str | None


def _text_param(covered: InnerList, name: str) -> str | None:
    value = covered.param(name)
    if value is None:
        return None
    if not isinstance(value, str) or isinstance(value, Token):
        raise InvalidRequest(f"signature parameter {name} must be a string")
    if not value or len(value) > _MAX_PARAM_LEN:
        raise InvalidRequest(f"signature parameter {name} has an invalid length")
    return value


def _int_param(covered: InnerList, name: str) -> int | None:
    value = covered.param(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"signature parameter {name} must be an integer")
    return value


def parse_params(covered: InnerList) -> SignatureParams:
    """Type-check the signature parameters of one ``Signature-Input`` member (§2.3).

    Raises:
        InvalidRequest: ``keyid`` or ``created`` is missing, or a parameter is mistyped.
    """
    keyid = _text_param(covered, "keyid")
    created = _int_param(covered, "created")
    if keyid is None:
        raise InvalidRequest("the signature has no keyid parameter")
    if created is None:
        raise InvalidRequest("the signature has no created parameter")
    return SignatureParams(
        keyid=keyid,
        created=created,
        expires=_int_param(covered, "expires"),
        nonce=_text_param(covered, "nonce"),
        alg=_text_param(covered, "alg"),
    )


def select_signature(headers: Headers, label: str | None = None) -> tuple[str, InnerList, bytes]:
    """Parse both fields and pick the signature to verify (§3.2 steps 1-3).

    Args:
        headers: the request headers; several field lines are combined with ``", "``.
        label: the label to verify; None takes the first member of ``Signature-Input``.

    Returns:
        ``(label, covered components with parameters, signature bytes)``.

    Raises:
        InvalidRequest: a field is malformed, too large, or the label has no signature.
    """
    try:
        inputs = parse_dictionary(", ".join(headers.get_all("signature-input")))
        signatures = parse_dictionary(", ".join(headers.get_all("signature")))
    except StructuredFieldError as exc:
        raise InvalidRequest(
            "malformed Signature-Input or Signature field", reason=str(exc)
        ) from exc
    if not inputs or len(inputs) > _MAX_SIGNATURES or len(signatures) > _MAX_SIGNATURES:
        raise InvalidRequest("Signature-Input must hold between 1 and 8 signatures")
    if label is None:
        label = next(iter(inputs))
    covered = inputs.get(label)
    signature = signatures.get(label)
    if not isinstance(covered, InnerList):
        raise InvalidRequest("Signature-Input has no inner list for the signature label")
    if not isinstance(signature, Item) or not isinstance(signature.value, bytes):
        raise InvalidRequest("Signature has no byte sequence for the signature label")
    return label, covered, signature.value


def _normalise_required(spec: Iterable[str | Sequence[str]]) -> tuple[frozenset[str], ...]:
    out: list[frozenset[str]] = []
    for entry in spec:
        group = frozenset((entry,) if isinstance(entry, str) else entry)
        if not group:
            raise ValueError("an empty alternative in required_components")
        out.append(group)
    return tuple(out)


class HttpSigAuthenticator:
    """Verifies RFC 9421 request signatures made with authgate key pairs or public keys.

    Args:
        resolver: looks up key pairs; a key pair's ``key`` is the ``keyid`` and its
            secret's UTF-8 bytes are the ``hmac-sha256`` key.
        public_keys: looks up registered ``ed25519`` / ``ecdsa-p256-sha256`` public keys;
            None disables asymmetric signatures.
        replay: the nonce store shared by every instance.
        window: seconds ``created`` may differ from the clock, either way.
        clock: returns the current Unix time; injected for tests.
        required_components: every entry must be covered; an entry that is a tuple is
            satisfied by any one of its names. ``content-digest`` is additionally
            required whenever the request has a body.
        require_nonce: refuse signatures without a ``nonce`` (replay protection needs it).
        require_query_coverage: a request with a query must cover ``@query``,
            ``@target-uri`` or ``@request-target``; otherwise a signature over the path
            alone would accept any query an attacker substitutes.
        label: verify this signature label; None takes the first one.
    """

    name = "httpsig"
    challenge = 'Signature realm="authgate"'
    needs_body = True
    cacheable = False  # a signature covers the whole request
    credential_headers: tuple[str, ...] = ("signature-input", "signature")
    credential_params: tuple[str, ...] = ()

    def __init__(
        self,
        resolver: CredentialResolver,
        public_keys: PublicKeyResolver | None,
        replay: ReplayCache,
        *,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
        required_components: Iterable[str | Sequence[str]] = DEFAULT_REQUIRED_COMPONENTS,
        require_nonce: bool = True,
        require_query_coverage: bool = True,
        label: str | None = None,
    ) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self._resolver = resolver
        self._public_keys = public_keys
        self._replay = replay
        self._window = window
        self._clock = clock
        self._required = _normalise_required(required_components)
        self._require_nonce = require_nonce
        self._require_query = require_query_coverage
        self._label = label

    def is_present(self, request: RequestView) -> bool:
        """True when both ``Signature-Input`` and ``Signature`` are present."""
        headers = request.headers
        return "signature-input" in headers and "signature" in headers

    def _fail(self, reason: str) -> InvalidCredentials:
        return InvalidCredentials(reason=reason, challenges=(self.challenge,))

    def _check_policy(
        self, names: list[str], params: SignatureParams, request: RequestView
    ) -> None:
        covered = set(names)
        body = request.body
        for group in self._required:
            if covered.isdisjoint(group):
                wanted = " or ".join(sorted(group))
                raise InvalidRequest(f"the signature must cover {wanted}")
        if body and "content-digest" not in covered:
            raise InvalidRequest("a request with a body must sign content-digest")
        if self._require_query and request.query and covered.isdisjoint(QUERY_COMPONENTS):
            raise InvalidRequest(
                "a request with a query must sign @query, @target-uri or @request-target"
            )
        if self._require_nonce and params.nonce is None:
            raise InvalidRequest("the signature has no nonce parameter")

    def _check_time(self, params: SignatureParams, now: float) -> None:
        if params.created > now + self._window:
            raise self._fail("created is in the future")
        if params.created < now - self._window:
            raise self._fail("created is outside the window")
        if params.expires is not None and params.expires < now:
            raise self._fail("signature expired")

    async def _verify(self, params: SignatureParams, base: bytes, signature: bytes) -> Identity:
        pair = await self._resolver.resolve_key_pair(params.keyid)
        if pair is not None:
            # A key pair signs hmac-sha256 only: no alg may re-route its secret.
            if params.alg not in (None, HMAC_SHA256):
                raise self._fail("alg does not match the key")
            key = pair.secret.reveal_bytes()
            if not key or not is_valid_hmac(key, base, signature):
                raise self._fail("bad signature")
            return pair.identity
        public = (
            await self._public_keys.resolve_public_key(params.keyid)
            if self._public_keys is not None
            else None
        )
        if public is None:
            is_valid_hmac(_DUMMY_KEY, base, signature)  # same work as a wrong secret
            raise self._fail("unknown keyid")
        if public.algorithm not in ASYMMETRIC_ALGORITHMS:
            raise self._fail("key registered for an unsupported algorithm")
        if params.alg is not None and params.alg != public.algorithm:
            raise self._fail("alg does not match the key")
        if not is_valid_asymmetric(public.algorithm, public.public_key_pem, base, signature):
            raise self._fail("bad signature")
        return public.identity

    async def authenticate(self, request: RequestView) -> Identity:
        """Verify the request's signature and return the signer's identity.

        Raises:
            InvalidRequest: malformed fields, unsupported components, unmet policy.
            InvalidCredentials: unknown key, wrong signature or digest, algorithm
                mismatch, stale or future ``created``, ``expires`` past, replayed nonce.
        """
        _, covered, signature = select_signature(request.headers, self._label)
        names = covered_names(covered)
        params = parse_params(covered)
        self._check_policy(names, params, request)
        now = self._clock()
        self._check_time(params, now)
        try:
            base = signature_base(request, covered, names=names)
        except ComponentMissing as exc:
            raise self._fail(f"covered component {exc} is absent") from exc
        if "content-digest" in names:
            field = ", ".join(request.headers.get_all("content-digest"))
            try:
                digest_ok = is_valid_content_digest(field, request.body or b"")
            except StructuredFieldError as exc:
                raise InvalidRequest("malformed Content-Digest field", reason=str(exc)) from exc
            if not digest_ok:
                raise self._fail("content-digest does not match the body")
        identity = await self._verify(params, base, signature)
        if params.nonce is not None:
            # Remember the nonce for as long as this signature could still be accepted.
            ttl = max(self._window, params.created + self._window - now)
            if not await self._replay.check_and_store(
                f"httpsig:{params.keyid}:{params.nonce}", ttl
            ):
                raise self._fail("nonce replayed")
        return dataclasses.replace(identity, scheme=self.name)
