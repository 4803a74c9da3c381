"""FastAPI dependencies over :class:`~authgate.embedding.middleware.AuthMiddleware`.

The middleware authenticates every request and leaves ``Identity | None`` in the ASGI
scope; these dependencies *authorize*: is there a caller, with an accepted scheme, the
roles and the scopes the route needs? They never re-verify credentials. Used as::

    app.add_middleware(AuthMiddleware, chain=chain)
    app.state.authgate_challenges = chain.challenges
    install_error_handler(app)

    @app.get("/reports")
    async def reports(caller: Annotated[Identity, Security(require(scopes=["read"]))]): ...

Each dependency also declares the security schemes (``X-API-Key``, HTTP Basic, HTTP
Bearer) in the OpenAPI document, with the route's scopes in its security requirement.

Refusals are :mod:`authgate.errors`: no credentials → 401 :class:`Unauthorized` with the
``WWW-Authenticate`` challenges (RFC 9110 §11.6.1); a scheme or role the route does not
accept → 403 :class:`Forbidden`; a missing scope → 403 :class:`InsufficientScope`
(RFC 6750 §3.1, with its ``Bearer error="insufficient_scope"`` challenge for bearer
tokens). :func:`install_error_handler` renders them exactly as the server does.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Security
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    SecurityScopes,
)
from starlette.requests import HTTPConnection
from starlette.responses import Response

from authgate.errors import AuthError, Forbidden, InsufficientScope, Unauthorized, render
from authgate.http.asgi import IDENTITY_SCOPE_KEY, fold_headers
from authgate.identity import Identity
from authgate.schemes.anonymous import ANONYMOUS

__all__ = [
    "Authenticated",
    "MaybeAnonymous",
    "declare_api_key_header",
    "error_response",
    "install_error_handler",
    "require",
]

Mode = Literal["all", "any"]

# RFC 6749 §3.3 scope-token: no space, no '"', no '\' — safe inside a quoted challenge.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


# Declaration-only security schemes: the middleware has already verified the request, so
# they read nothing (FastAPI's own classes would parse the header again, and HTTPBasic
# raises its own 401 on malformed input even with auto_error=False).
class _ApiKeyHeader(APIKeyHeader):
    async def __call__(self, request: HTTPConnection) -> str | None:
        return None


class _Basic(HTTPBasic):
    # HTTPBasic itself overrides HTTPBase.__call__ with another return type
    async def __call__(  # type: ignore[override]
        self, request: HTTPConnection
    ) -> HTTPBasicCredentials | None:
        return None


class _Bearer(HTTPBearer):
    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        return None


_API_KEY_SCHEME = "ApiKeyHeader"
# The scheme names of the OpenAPI document (authgate's own server uses these too).
_DECLARED: dict[str, _ApiKeyHeader | _Basic | _Bearer] = {
    "apikey": _ApiKeyHeader(name="X-API-Key", auto_error=False, scheme_name=_API_KEY_SCHEME),
    "basic": _Basic(auto_error=False, scheme_name="Basic"),
    "bearer": _Bearer(auto_error=False, scheme_name="Bearer"),
}

# Used when neither ``challenges=`` nor ``app.state.authgate_challenges`` is set: a 401
# must carry at least one challenge (RFC 9110 §15.5.2).
_DEFAULT_CHALLENGES = {
    "apikey": 'ApiKey realm="authgate", header="X-API-Key"',
    "basic": 'Basic realm="authgate", charset="UTF-8"',
    "bearer": 'Bearer realm="authgate"',
}


def require(
    *,
    scopes: Sequence[str] = (),
    roles: Sequence[str] = (),
    schemes: Sequence[str] | None = None,
    anonymous: bool = False,
    mode: Mode = "all",
    challenges: Sequence[str] | None = None,
) -> Callable[..., Awaitable[Identity]]:
    """A dependency that returns the caller's :class:`Identity` or refuses the request.

    Use it with ``Security(...)`` (or ``Depends(...)``). Scopes given to an enclosing
    ``Security(require(), scopes=[...])`` are required as well, via ``SecurityScopes``.

    Args:
        scopes: scopes the caller's credential must hold.
        roles: roles the caller's principal must hold.
        schemes: authgate scheme names accepted here (``apikey``, ``basic``, ``bearer``,
            ``hmac``, ...); None accepts every scheme of the chain.
        anonymous: also serve callers without credentials, as
            :data:`~authgate.schemes.anonymous.ANONYMOUS`. Presented credentials are
            still verified by the middleware: an invalid one stays a 401.
        mode: ``"all"`` — every listed scope (and role) is needed; ``"any"`` — one is enough.
        challenges: ``WWW-Authenticate`` challenges for the 401; by default
            ``app.state.authgate_challenges`` (set it to ``chain.challenges``).

    Raises:
        ValueError: an impossible combination (anonymous with scopes or roles), a bad
            ``mode``, or a scope that is not an RFC 6749 scope-token.
    """
    need_scopes = tuple(dict.fromkeys(scopes))
    need_roles = tuple(dict.fromkeys(roles))
    accepted = None if schemes is None else frozenset(schemes)
    if mode not in ("all", "any"):
        raise ValueError(f"mode must be 'all' or 'any', not {mode!r}")
    if anonymous and (need_scopes or need_roles):
        raise ValueError("an anonymous caller holds no scopes or roles: drop one of them")
    for scope in need_scopes:
        if not _SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"not an RFC 6749 scope-token: {scope!r}")
    declared = [n for n in _DECLARED if accepted is None or n in accepted]
    fixed_challenges = None if challenges is None else tuple(c for c in challenges if c)
    default_challenges = tuple(_DEFAULT_CHALLENGES[n] for n in declared) or tuple(
        _DEFAULT_CHALLENGES.values()
    )

    async def dependency(request: Request, security_scopes: SecurityScopes) -> Identity:
        if IDENTITY_SCOPE_KEY not in request.scope:
            # Without the middleware nothing was verified: an invalid key would pass as
            # "no credentials". Refuse (500) rather than guess.
            raise RuntimeError("authgate.AuthMiddleware is not installed in front of this app")
        identity: Identity | None = request.scope[IDENTITY_SCOPE_KEY]
        if identity is None:
            if anonymous:
                return ANONYMOUS
            raise Unauthorized(
                challenges=_challenges(request, fixed_challenges, default_challenges)
            )
        if accepted is not None and identity.scheme not in accepted:
            raise Forbidden(
                "This route does not accept this authentication scheme.",
                reason=f"scheme {identity.scheme!r} not in {sorted(accepted)}",
            )
        if need_roles and not _holds(identity.roles, need_roles, mode):
            raise Forbidden(reason=f"roles {list(need_roles)} ({mode}) not held")
        wanted = tuple(dict.fromkeys((*need_scopes, *security_scopes.scopes)))
        if wanted and not _holds(identity.scopes, wanted, mode):
            raise _insufficient_scope(identity, wanted, mode)
        return identity

    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "security_scopes", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=SecurityScopes
        ),
    ]
    # One parameter per declared scheme, each carrying the route's scopes into OpenAPI.
    params.extend(
        inspect.Parameter(
            f"_authgate_{name}",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[object, Security(_DECLARED[name], scopes=list(need_scopes))],
            default=None,
        )
        for name in declared
    )

    async def call(
        request: Request, security_scopes: SecurityScopes, **_declared: object
    ) -> Identity:
        return await dependency(request, security_scopes)

    call.__signature__ = inspect.Signature(params, return_annotation=Identity)  # type: ignore[attr-defined]
    call.__name__ = call.__qualname__ = _describe(need_scopes, need_roles, accepted, anonymous)
    return call


def _holds(held: Sequence[str], wanted: Sequence[str], mode: Mode) -> bool:
    have = set(held)
    if mode == "any":
        return any(w in have for w in wanted)
    return all(w in have for w in wanted)


def _challenges(
    request: Request, fixed: tuple[str, ...] | None, default: tuple[str, ...]
) -> tuple[str, ...]:
    if fixed:
        return fixed
    configured = getattr(request.app.state, "authgate_challenges", None)
    if configured:
        found = tuple(c for c in configured if isinstance(c, str) and c)
        if found:
            return found
    return default


def _insufficient_scope(identity: Identity, wanted: Sequence[str], mode: Mode) -> AuthError:
    challenges: list[str] = []
    if identity.scheme == "bearer":
        # RFC 6750 §3.1: tell the token holder which scope it lacks.
        joined = " ".join(wanted)
        challenges.append(f'Bearer realm="authgate", error="insufficient_scope", scope="{joined}"')
    return InsufficientScope(
        reason=f"scopes {list(wanted)} ({mode}) not held", challenges=challenges
    )


def _describe(
    scopes: Sequence[str], roles: Sequence[str], schemes: frozenset[str] | None, anonymous: bool
) -> str:
    parts = [f"scopes={list(scopes)}"] if scopes else []
    if roles:
        parts.append(f"roles={list(roles)}")
    if schemes is not None:
        parts.append(f"schemes={sorted(schemes)}")
    if anonymous:
        parts.append("anonymous")
    return f"require({', '.join(parts)})"


def error_response(error: AuthError) -> Response:
    """``error`` as the server renders it: JSON body, ``no-store``, folded challenges."""
    status, headers, body = render(error)
    return Response(body, status_code=status, headers=fold_headers(headers))


def declare_api_key_header(app: FastAPI, header: str) -> None:
    """Name ``header`` as the API-key header in ``app``'s OpenAPI document.

    The dependencies declare ``X-API-Key`` when routes are defined; an application whose
    :class:`~authgate.schemes.apikey.ApiKeyAuthenticator` reads another header says so
    here, once, and the document names that header.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's own, cached on the app after the first call
        declared = document.get("components", {}).get("securitySchemes", {})
        if _API_KEY_SCHEME in declared:
            declared[_API_KEY_SCHEME]["name"] = header
        return document

    # FastAPI documents replacing app.openapi to change the generated document
    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handler(app: FastAPI) -> None:
    """Render every :class:`~authgate.errors.AuthError` raised in ``app`` as the server does."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, AuthError):  # pragma: no cover - registered for AuthError only
            raise exc
        return error_response(exc)

    app.add_exception_handler(AuthError, handle)


Authenticated = Annotated[Identity, Security(require())]
"""Any authenticated caller (401 without credentials)."""

MaybeAnonymous = Annotated[Identity, Security(require(anonymous=True))]
"""Any caller; :data:`~authgate.schemes.anonymous.ANONYMOUS` when no credentials were sent."""
