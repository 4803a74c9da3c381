"""FastAPI dependencies: the runtime, the caller's identity, the management guard.

The caller is the embedding layer's :func:`~authgate.embedding.fastapi.require` (which
declares the security schemes in OpenAPI; :func:`~authgate.server.api.create_api` names
the configured API-key header there) plus the server's own rule: temporary SigV4
credentials never use the admin API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security

from authgate.embedding.fastapi import require
from authgate.errors import Forbidden, InsufficientScope
from authgate.http.asgi import CLIENT_IP_SCOPE_KEY, get_identity
from authgate.identity import Identity
from authgate.oauth.clients import CLIENT_ID_PREFIX
from authgate.runtime import Runtime
from authgate.scopes import MANAGE_SCOPE

__all__ = [
    "Caller",
    "ClientIP",
    "Rt",
    "caller",
    "is_delegated",
    "management_guard",
    "runtime",
]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def caller(identity: Annotated[Identity, Security(require())]) -> Identity:
    """The authenticated caller (401 with the chain's challenges without credentials).

    Raises:
        Forbidden: temporary SigV4 credentials (a ``session`` claim).
    """
    if identity.claims.get("session"):
        # temporary SigV4 credentials call APIs; they never manage accounts or keys
        raise Forbidden("temporary credentials cannot use the admin API")
    return identity


def is_delegated(identity: Identity, issuer: str) -> bool:
    """Whether ``identity`` is a bearer token issued *to an OAuth client*.

    authgate's own tokens name in ``client_id`` either the key pair they were bought
    with at ``POST /auth`` (the user's own credential: not delegated) or an OAuth client
    (``agc_...``: any grant of ``/oauth/token``, the authorization code and device
    flows). Tokens of other issuers are always issued to some client.
    """
    if identity.scheme != "bearer":
        return False
    if identity.claims.get("iss") != issuer:
        return True
    client_id = identity.claims.get("client_id")
    return type(client_id) is not str or client_id.startswith(CLIENT_ID_PREFIX)


def management_guard(request: Request) -> None:
    """Router dependency of the management API (keys, clients, users, MFA, PKI, audit).

    A delegated token manages credentials, passwords and MFA only with the
    ``authgate:manage`` scope, which a client must ask for by name and the user must
    approve on authgate's consent page, shown every time (docs/security.md, Scopes and
    admin power). A token of another issuer never passed that page, so it manages
    nothing, whatever it says.

    Raises:
        InsufficientScope: a delegated token without ``authgate:manage``, or any token
            of another issuer.
    """
    identity = get_identity(request.scope)
    if identity is None:
        return  # the route's Caller answers 401
    issuer = runtime(request).tokens.access.issuer
    if not is_delegated(identity, issuer):
        return
    if identity.claims.get("iss") != issuer or MANAGE_SCOPE not in identity.scopes:
        raise InsufficientScope(
            f"a token issued to an OAuth client needs the {MANAGE_SCOPE} scope here"
        )


def client_ip(request: Request) -> str | None:
    ip: str | None = request.scope.get(CLIENT_IP_SCOPE_KEY)
    return ip


Rt = Annotated[Runtime, Depends(runtime)]
Caller = Annotated[Identity, Depends(caller)]
ClientIP = Annotated[str | None, Depends(client_ip)]
