"""Token-endpoint decisions, sans-I/O: which client, which scopes, which parameters.

RFC 6749 §4.4 (client credentials: confidential clients only, §4.4.3 no refresh token),
§6 (refresh: the new scope must not exceed the original, the token is bound to its
client), §3.3 (``scope`` is a space-delimited list; omitted → the client's default, here
all its registered scopes but ``authgate:manage``, which must be asked for by name),
§5.2 (error codes); RFC 9700 §2.4 (no resource owner password credentials grant) and
§2.1.2 (no implicit grant); RFC 8628 §3.4 (device grant type URN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from authgate.errors import InvalidRequest
from authgate.oauth.errors import InvalidTokenScope, UnauthorizedClient
from authgate.oauth.records import ClientRecord
from authgate.scopes import MANAGE_SCOPE

__all__ = [
    "REFUSED_GRANTS",
    "check_grant_allowed",
    "parse_scope",
    "required",
    "resolve_scopes",
]

#: Grants refused on purpose, forever (RFC 9700 §2.4; ``implicit`` is not a grant_type but
#: some clients send it).
REFUSED_GRANTS: tuple[str, ...] = ("password", "implicit")
_MAX_SCOPE_TOKENS = 64


def required(form: Mapping[str, str], name: str) -> str:
    """The parameter ``name`` of ``form``.

    Raises:
        InvalidRequest: it is missing (``"<name> is required."``).
    """
    value = form.get(name)
    if value is None:
        raise InvalidRequest(f"{name} is required.")
    return value


def check_grant_allowed(client: ClientRecord, grant: str) -> None:
    """Raise :class:`UnauthorizedClient` unless ``client`` is registered for ``grant``."""
    if grant not in client.grants:
        raise UnauthorizedClient(reason=f"{client.client_id} not registered for {grant}")
    if grant == "client_credentials" and client.public:
        raise UnauthorizedClient(reason="public client asked for client_credentials")


def parse_scope(scope: str | None) -> tuple[str, ...] | None:
    """The ``scope`` parameter as a tuple (None when omitted), deduplicated, in order.

    Raises:
        InvalidTokenScope: malformed (RFC 6749 §3.3 scope-token syntax) or too many.
    """
    if scope is None:
        return None
    tokens = scope.split(" ")
    if len(tokens) > _MAX_SCOPE_TOKENS or any(
        not t or any(c in '"\\' or not 0x21 <= ord(c) <= 0x7E for c in t) for t in tokens
    ):
        raise InvalidTokenScope("The scope parameter is malformed.")
    return tuple(dict.fromkeys(tokens))


def resolve_scopes(requested: Sequence[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    """The scopes to grant: ``requested`` when all are allowed; when omitted, all of
    ``allowed`` but ``authgate:manage`` (granted only when asked for by name).

    Raises:
        InvalidTokenScope: a requested scope is not allowed (never silently narrowed).
    """
    if requested is None:
        return tuple(s for s in allowed if s != MANAGE_SCOPE)
    extra = [s for s in requested if s not in allowed]
    if extra:
        raise InvalidTokenScope(reason=f"not allowed: {' '.join(extra)[:200]}")
    return tuple(requested)
