"""API keys: ``X-API-Key: <key>``, ``Authorization: ApiKey <key>``, ``Authorization: Bearer <key>``,
and ``?api_key=<key>`` only on paths where it is enabled (query strings leak into logs,
browser history and Referer headers, so it is off by default).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import parse_qsl

from authgate.credentials import CredentialResolver
from authgate.errors import InvalidCredentials, InvalidRequest
from authgate.http.request import RequestView
from authgate.identity import Identity

__all__ = ["ApiKeyAuthenticator", "looks_like_jwt"]


def looks_like_jwt(value: str) -> bool:
    """Three dot-separated segments: a bearer value that belongs to the JWT scheme."""
    return value.count(".") == 2


class ApiKeyAuthenticator:
    """Authenticates API keys through a :class:`CredentialResolver`."""

    name = "apikey"
    needs_body = False
    cacheable = True

    def __init__(
        self,
        resolver: CredentialResolver,
        *,
        header: str = "X-API-Key",
        authorization_schemes: Sequence[str] = ("ApiKey", "Bearer"),
        query_param: str = "api_key",
        query_paths: Collection[str] = (),
    ) -> None:
        self._resolver = resolver
        self._header = header.lower()
        self._auth_schemes = frozenset(s.lower() for s in authorization_schemes)
        self._query_param = query_param
        self._query_paths = frozenset(query_paths)
        self.challenge = f'ApiKey realm="authgate", header="{header}"'
        self.credential_headers: tuple[str, ...] = (self._header, "authorization")
        self.credential_params: tuple[str, ...] = (query_param.lower(),) if query_paths else ()

    def extract(self, request: RequestView) -> str | None:
        """The presented key, or None when this scheme's credentials are absent.

        Raises:
            InvalidRequest: two credentials: ``X-API-Key`` with ``Authorization``, or an
                ``api_key`` query parameter (on a path where it is enabled) with either
                header or with a second ``api_key`` parameter.
        """
        value = request.headers.get(self._header)
        auth = request.headers.get("authorization")
        query_key = self._query_key(request)
        if query_key is not None and (value is not None or auth is not None):
            # The query key and a header are two credentials, whatever the header's
            # scheme: answering as the header's caller would silently drop the other.
            raise InvalidRequest("more than one credential presented: send exactly one")
        if value is not None:
            if auth is not None:
                # the key and whatever Authorization carries are two credentials: an
                # upstream reading Authorization would act for someone we did not check
                raise InvalidRequest("more than one credential presented: send exactly one")
            return value.strip()
        if auth is not None:
            scheme, _, credential = auth.strip().partition(" ")
            scheme = scheme.lower()
            if scheme in self._auth_schemes:
                credential = credential.strip()
                if scheme == "bearer" and looks_like_jwt(credential):
                    return None  # a JWT: the bearer scheme's
                return credential
        return query_key

    def _query_key(self, request: RequestView) -> str | None:
        """The ``api_key`` query parameter on a path where it is enabled, else None.

        On any other path the parameter is not a credential: it is left to the
        application, like any query parameter.
        """
        if not (self._query_paths and request.path in self._query_paths and request.query):
            return None
        values = [
            v for k, v in parse_qsl(request.query, keep_blank_values=True) if k == self._query_param
        ]
        if len(values) > 1:
            raise InvalidRequest("api_key given more than once")
        return values[0] if values else None

    def is_present(self, request: RequestView) -> bool:
        return self.extract(request) is not None

    async def authenticate(self, request: RequestView) -> Identity:
        key = self.extract(request)
        identity = await self._resolver.resolve_api_key(key) if key else None
        if identity is None:
            raise InvalidCredentials(reason="api key rejected", challenges=[self.challenge])
        return identity
