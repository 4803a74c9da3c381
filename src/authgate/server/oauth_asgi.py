"""Plain-ASGI ``POST /oauth/token``, ``/oauth/introspect`` and ``/oauth/revoke``.

RFC 6749 §3.2 (token requests are POSTed forms; §5.1 ``Cache-Control: no-store`` and
``Pragma: no-cache``; §5.2 errors, a 401 ``invalid_client`` with a ``WWW-Authenticate``
challenge when the client used Basic), RFC 7662 §2 (introspection), RFC 7009 §2
(revocation: 200 with an empty body), RFC 8705 §3 (a client certificate binds the
access token).

These endpoints, and the device authorization endpoint, authenticate *clients* (RFC 6749
§2.3.1, RFC 7662 §2.1, RFC 7009 §2.1, RFC 8628 §3.1): their ``Authorization: Basic``
header carries a client id and secret, not a user's. So they never meet the scheme
chain: :class:`~authgate.server.app.AuthgateServer` hands a request whose raw path
(RFC 3986 §3.3, ``scope["raw_path"]`` up to ``?``) is exactly one of
:data:`CLIENT_AUTHENTICATING_PATHS` to :class:`OAuthEndpoints` instead of to
:class:`~authgate.embedding.middleware.AuthMiddleware`. An encoded variant
(``/oauth%2Ftoken``) is not one of them: it meets the chain, which fails closed.

What applies to every request applies here too, in the same order as on the general
path: the middleware's header checks (a repeated ``Host`` or credential header is a 400,
an oversized credential a 413, both audited as ``auth.failure`` with the trusted client
IP), the policy (the request has no identity: the client authenticates below), the body
size limit. ``POST`` to the token, introspection and revocation endpoints is then
answered here with :func:`~authgate.oauth.form.parse_form` and
:class:`~authgate.oauth.server.OAuthServer`, in the same words as the FastAPI routes of
:mod:`authgate.server.routes_oauth` (which stay, as the endpoints' OpenAPI twins); other
methods, and the device authorization endpoint, go on to FastAPI. See
docs/decisions/0004-oauth-fast-path.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from authgate.embedding.middleware import AuthMiddleware
from authgate.errors import AuthError, PayloadTooLarge
from authgate.http.asgi import (
    CLIENT_IP_SCOPE_KEY,
    IDENTITY_SCOPE_KEY,
    ASGIApp,
    Receive,
    Scope,
    Send,
    read_body,
    request_path,
    send_error,
    send_response,
)
from authgate.oauth.form import parse_form
from authgate.oauth.server import INACTIVE
from authgate.policy import PolicyMiddleware
from authgate.policy.model import Policy
from authgate.runtime import Runtime

__all__ = [
    "CLIENT_AUTHENTICATING_PATHS",
    "OAuthEndpoints",
    "client_authenticating_path",
    "declared_too_large",
]

log = logging.getLogger("authgate.server")

# RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache" on every token response
_JSON_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
)
_CONTENT_TYPE = ((b"content-type", b"application/json"),)
_INACTIVE_BODY = json.dumps(INACTIVE, separators=(",", ":")).encode()
# the FastAPI app's answer to an unexpected exception (server.api), byte for byte
_SERVER_ERROR_BODY = b'{"error":"server_error","error_description":"Internal error."}'
# one encoder: json.dumps(..., separators=...) builds a new one on every call
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode

_Handler = Callable[[Runtime, Scope, str | None, Mapping[str, str]], Awaitable[bytes | None]]


async def _token(
    rt: Runtime, scope: Scope, authorization: str | None, form: Mapping[str, str]
) -> bytes:
    # RFC 8705 §3: a client certificate (direct TLS or a trusted proxy's header) binds
    # the access token to it
    x5t_s256 = rt.oauth.certificates.x5t_s256_of_scope(scope)
    answer = await rt.oauth.token(
        authorization, form, x5t_s256=x5t_s256, client_ip=scope.get(CLIENT_IP_SCOPE_KEY)
    )
    return _ENCODE(answer).encode()


async def _introspect(
    rt: Runtime, scope: Scope, authorization: str | None, form: Mapping[str, str]
) -> bytes:
    answer = await rt.oauth.introspect(
        authorization, form, client_ip=scope.get(CLIENT_IP_SCOPE_KEY)
    )
    return _INACTIVE_BODY if answer == INACTIVE else _ENCODE(answer).encode()


async def _revoke(
    rt: Runtime, scope: Scope, authorization: str | None, form: Mapping[str, str]
) -> None:
    await rt.oauth.revoke(authorization, form, client_ip=scope.get(CLIENT_IP_SCOPE_KEY))


#: The endpoints that authenticate OAuth clients themselves (RFC 6749 §2.3, RFC 8628
#: §3.1), by their exact raw path. One without a handler below skips the scheme chain
#: and is answered by FastAPI.
CLIENT_AUTHENTICATING_PATHS = frozenset(
    {"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/device_authorization"}
)
#: The ``POST`` handlers answered in plain ASGI.
_HANDLERS: dict[str, _Handler] = {
    "/oauth/token": _token,
    "/oauth/introspect": _introspect,
    "/oauth/revoke": _revoke,
}


def client_authenticating_path(scope: Scope) -> str | None:
    """The endpoint a request's raw path names exactly, or None.

    The raw path is :func:`~authgate.http.asgi.request_path` (as the scheme chain and the
    policy see it).
    """
    path: str = scope.get("path", "/")
    # Every other request (the hot path) stops here. Each exempt raw path decodes to
    # itself, a path under /oauth/, so this test only ever rejects non-matches.
    if not path.startswith("/oauth/"):
        return None
    raw = request_path(scope)
    return raw if raw in CLIENT_AUTHENTICATING_PATHS else None


def declared_too_large(scope: Scope, limit: int) -> bool:
    """True when the (first) ``Content-Length`` is not a number or exceeds ``limit``."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return not value.isdigit() or int(value) > limit
    return False


class OAuthEndpoints:
    """The ASGI app for requests at :data:`CLIENT_AUTHENTICATING_PATHS`.

    Args:
        runtime: the running services (``runtime.oauth`` answers the requests).
        auth: the server's authentication middleware, whose header checks and
            ``auth.failure`` audit record apply here unchanged (its scheme chain does not).
        after: where other methods go (the server's body limit and FastAPI).
        policy: the server's policy, if any; it decides before the endpoint runs.
        max_body: the largest request body accepted, in bytes (413 beyond).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        auth: AuthMiddleware,
        after: ASGIApp,
        policy: Policy | None = None,
        max_body: int = 64 * 1024,
    ) -> None:
        self.runtime = runtime
        self._auth = auth
        self._after = after
        self._max_body = max_body
        self._app: ASGIApp = self._dispatch
        if policy is not None:
            self._app = PolicyMiddleware(
                self._dispatch, policy, challenges=runtime.chain.challenges, audit=runtime.audit
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = self._auth
        if not await auth.screen(scope, send):  # the middleware's header checks, not its chain
            return
        scope[IDENTITY_SCOPE_KEY] = None  # the client authenticates in the endpoint
        scope[CLIENT_IP_SCOPE_KEY] = auth.client_ip(scope)
        await self._app(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = client_authenticating_path(scope)
        handler = _HANDLERS.get(endpoint) if scope["method"] == "POST" and endpoint else None
        if handler is None:
            await self._after(scope, receive, send)
            return
        try:
            if declared_too_large(scope, self._max_body):
                raise PayloadTooLarge("The request body is too large.")
            body = await read_body(receive, self._max_body)
            if body is None:
                return  # the client went away: nobody to answer
            headers = scope["headers"]
            form = parse_form(
                body, _header(headers, b"content-type"), scope.get("query_string", b"")
            )
            out = await handler(self.runtime, scope, _header(headers, b"authorization"), form)
        except AuthError as error:
            await send_error(send, error)
            return
        except Exception:
            log.exception("%s failed", endpoint)
            await send_response(send, 500, (), _SERVER_ERROR_BODY, _CONTENT_TYPE)
            return
        if out is None:  # revocation: 200 with an empty body (RFC 7009 §2.2)
            await send_response(send, 200, _JSON_HEADERS, b"")
        else:
            await send_response(send, 200, _JSON_HEADERS, out, _CONTENT_TYPE)


def _header(raw: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header ``name`` (ASGI names are lower-case), as latin-1 text."""
    for key, value in raw:
        if key == name:
            return value.decode("latin-1")
    return None
