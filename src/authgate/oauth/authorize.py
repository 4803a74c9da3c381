"""The authorization request of ``/oauth/authorize``, sans-I/O: validate, then answer.

RFC 6749 §4.1.1 (the request), §4.1.2 (the response: ``code`` and ``state``), §4.1.2.1
(errors go back to the client by redirect, *except* when the client or redirect URI is
invalid: then the user sees an error page and nothing is redirected), §3.1 (parameters
at most once), §3.1.2 (the redirect URI's query is kept); RFC 9700 §4.1.3 (redirect URIs
are compared by exact string match), RFC 8252 §7.3 (for native apps on a loopback IP,
the port may differ); RFC 7636 (PKCE, required here for every client); RFC 9207
(``iss`` in every authorization response, success or error); OIDC Core §3.1.2.1
(``nonce``, ``prompt``, ``max_age``; ``request``/``request_uri`` → ``request_not_supported``)
and §3.1.2.6 (``login_required``, ``consent_required`` for ``prompt=none``); RFC 9700 §2.1.2
(no implicit flow: ``response_type=token`` → ``unsupported_response_type``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authgate.errors import AuthError, InvalidRequest
from authgate.oauth.clients import ClientRecord
from authgate.oauth.grant_rules import parse_scope
from authgate.oauth.pkce import check_challenge
from authgate.oauth.registration import is_loopback
from authgate.scopes import MANAGE_SCOPE

__all__ = [
    "OIDC_SCOPES",
    "AuthorizationError",
    "AuthorizationRequest",
    "InvalidAuthorizationTarget",
    "append_query",
    "parse_authorization_params",
    "redirect_uri_matches",
    "validate_authorization_request",
]

#: Scopes every client registered for ``authorization_code`` may ask for (OIDC Core §5.4).
OIDC_SCOPES: tuple[str, ...] = ("openid", "profile")
_PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_MAX_PARAM = 2048
#: Longest redirect URI (the registration limit, and the stored column's size).
MAX_REDIRECT_URI = 2000
_MAX_STATE = 1024
_MAX_NONCE = 512


class InvalidAuthorizationTarget(AuthError):
    """Unknown client or unregistered redirect URI: an error page, never a redirect."""

    status = 400
    code = "invalid_request"
    default_description = "The client or its redirect URI is not registered."


@dataclass(frozen=True, slots=True)
class AuthorizationError(Exception):
    """An error to send back to the client's redirect URI (RFC 6749 §4.1.2.1)."""

    error: str
    description: str
    redirect_uri: str
    state: str | None

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request.

    Attributes:
        client_id: the client.
        redirect_uri: where the answer goes (the registered URI, exactly as presented).
        redirect_uri_given: whether the request named it (then the token request must
            repeat it, RFC 6749 §4.1.3).
        scopes: the scopes asked for (when omitted, the client's registered ones but
            ``authgate:manage``, which is granted only when asked for by name).
        state: the client's opaque value, echoed back.
        nonce: the OIDC ``nonce``, echoed in the ID token.
        code_challenge: the PKCE S256 challenge.
        prompt: the OIDC ``prompt`` values.
        max_age: the OIDC ``max_age`` in seconds.
    """

    client_id: str
    redirect_uri: str
    redirect_uri_given: bool
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None

    def as_params(self, *, after_login: bool = False) -> dict[str, str]:
        """The request as query parameters (to show the page again, e.g. after login).

        ``after_login``: the login that ``prompt=login`` or ``max_age`` asked for is about
        to happen, so neither is repeated (``max_age=0`` would otherwise ask forever).
        """
        out = {
            "response_type": "code",
            "client_id": self.client_id,
            "scope": " ".join(self.scopes),
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.redirect_uri_given:
            out["redirect_uri"] = self.redirect_uri
        for name, value in (("state", self.state), ("nonce", self.nonce)):
            if value is not None:
                out[name] = value
        if self.max_age is not None and not after_login:
            out["max_age"] = str(self.max_age)
        if "consent" in self.prompt:  # "login" and "none" are spent once the page is shown
            out["prompt"] = "consent"
        return out


def parse_authorization_params(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], frozenset[str]]:
    """Parameters (empty values count as omitted, RFC 6749 §3.1) and the repeated names."""
    out: dict[str, str] = {}
    repeated: set[str] = set()
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            repeated.add(name)
        seen.add(name)
        if value:
            out[name] = value
    return out, frozenset(repeated)


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact match; for ``http`` on a loopback host, any port (RFC 8252 §7.3)."""
    if registered == presented:
        return True
    # urlsplit drops TAB/CR/LF silently: refuse anything but plain printable ASCII first,
    # so what matched is exactly what is stored and echoed.
    if (
        len(presented) > MAX_REDIRECT_URI
        or not presented.startswith("http://")
        or not presented.isascii()
        or any(c <= " " or c == "\x7f" for c in presented)
    ):
        return False
    try:
        a, b = urlsplit(registered), urlsplit(presented)
        a_host, b_host = a.hostname, b.hostname
        b.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if a.scheme != "http" or a_host is None or not is_loopback(a_host):
        return False
    if "@" in b.netloc or b.fragment or "#" in presented:
        return False
    return (
        b.scheme == "http"
        and a_host == b_host
        and _without_port(a.netloc) == _without_port(b.netloc)
        and (a.path, a.query) == (b.path, b.query)
    )


def _without_port(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc.split("]", 1)[0] + "]"
    return netloc.split(":", 1)[0]


def append_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` added to its query component, which is kept (§3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def validate_authorization_request(
    params: Mapping[str, str], repeated: frozenset[str], client: ClientRecord | None
) -> AuthorizationRequest:
    """Validate an authorization request for ``client`` (looked up by ``client_id``).

    Raises:
        InvalidAuthorizationTarget: no/unknown/repeated ``client_id``, or a redirect URI
            that is missing (with several registered), repeated or not registered.
        AuthorizationError: every other problem, to redirect back to the client.
    """
    if "client_id" in repeated or client is None or params.get("client_id") != client.client_id:
        raise InvalidAuthorizationTarget(reason="authorize: unknown client")
    redirect_uri, given = _redirect_uri(params, repeated, client)
    state = params.get("state")
    if state is not None and ("state" in repeated or len(state) > _MAX_STATE):
        state = None  # never echo a value we refuse

    def fail(error: str, description: str) -> AuthorizationError:
        return AuthorizationError(error, description, redirect_uri, state)

    if repeated:
        raise fail("invalid_request", f"Parameter {sorted(repeated)[0][:40]!r} is repeated.")
    if any(len(v) > _MAX_PARAM for v in params.values()):
        raise fail("invalid_request", "A parameter is too long.")
    if "state" in params and state is None:
        raise fail("invalid_request", "state is too long.")
    response_type = params.get("response_type")
    if response_type is None:
        raise fail("invalid_request", "response_type is required.")
    if response_type != "code":
        raise fail("unsupported_response_type", "Only response_type=code is supported.")
    if "authorization_code" not in client.grants:
        raise fail("unauthorized_client", "The client may not use the authorization code grant.")
    if "request" in params or "request_uri" in params:
        error = "request_not_supported" if "request" in params else "request_uri_not_supported"
        raise fail(error, "Request objects are not supported.")
    if params.get("response_mode", "query") != "query":
        raise fail("invalid_request", "Only response_mode=query is supported.")
    try:
        requested = parse_scope(params.get("scope") or None)
    except AuthError:
        raise fail("invalid_scope", "The scope parameter is malformed.") from None
    allowed = (*client.scopes, *OIDC_SCOPES)
    if requested is None:
        # authgate:manage only when asked for by name (never by default)
        scopes = tuple(s for s in client.scopes if s != MANAGE_SCOPE)
    else:
        extra = [s for s in requested if s not in allowed]
        if extra:
            raise fail("invalid_scope", f"Scope not allowed: {extra[0][:60]}")
        scopes = requested
    try:
        challenge = check_challenge(
            params.get("code_challenge"), params.get("code_challenge_method")
        )
    except InvalidRequest as exc:
        raise fail("invalid_request", exc.description) from None
    nonce = params.get("nonce")
    if nonce is not None and len(nonce) > _MAX_NONCE:
        raise fail("invalid_request", "nonce is too long.")
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= _PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise fail("invalid_request", "prompt is invalid.")
    max_age = _max_age(params.get("max_age"))
    if "max_age" in params and max_age is None:
        raise fail("invalid_request", "max_age must be a non-negative integer.")
    return AuthorizationRequest(
        client.client_id, redirect_uri, given, scopes, state, nonce, challenge, prompt, max_age
    )


def _redirect_uri(
    params: Mapping[str, str], repeated: frozenset[str], client: ClientRecord
) -> tuple[str, bool]:
    if "redirect_uri" in repeated:
        raise InvalidAuthorizationTarget(reason="authorize: redirect_uri repeated")
    presented = params.get("redirect_uri")
    if presented is None:
        if len(client.redirect_uris) == 1:
            return client.redirect_uris[0], False  # RFC 6749 §3.1.2.3
        raise InvalidAuthorizationTarget(reason="authorize: redirect_uri missing")
    if any(redirect_uri_matches(r, presented) for r in client.redirect_uris):
        return presented, True
    raise InvalidAuthorizationTarget(reason="authorize: redirect_uri not registered")


def _max_age(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value)
