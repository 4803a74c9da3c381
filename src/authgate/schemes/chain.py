"""The scheme chain: an ordered list of schemes, the first whose credentials are present decides.

Present but invalid → 401, never a fall-through to anonymous. Two different credentials
in one request → 400 (ambiguity is how confused-deputy bugs start). A credential header
no scheme recognises → 401 with every scheme's challenge.
"""

from __future__ import annotations

from collections.abc import Sequence

from authgate.errors import InvalidCredentials, InvalidRequest, Unauthorized
from authgate.http.request import RequestView
from authgate.identity import Identity
from authgate.schemes.base import Authenticator

__all__ = ["SchemeChain"]

_CREDENTIAL_HEADERS = ("authorization",)


class SchemeChain:
    """Authenticate a request with the first scheme whose credentials are present."""

    def __init__(
        self,
        schemes: Sequence[Authenticator],
        *,
        allow_multiple_credentials: bool = False,
        extra_credential_headers: Sequence[str] = (),
    ) -> None:
        self.schemes = tuple(schemes)
        self._allow_multiple = allow_multiple_credentials
        self._credential_headers = (
            *_CREDENTIAL_HEADERS,
            *(h.lower() for h in extra_credential_headers),
        )
        self.challenges = tuple(s.challenge for s in self.schemes if s.challenge)
        # every header / query parameter that may carry some scheme's credentials
        self.credential_headers = frozenset(
            h.lower() for s in self.schemes for h in s.credential_headers
        ) | frozenset(self._credential_headers)
        self.credential_params = frozenset(
            p.lower() for s in self.schemes for p in s.credential_params
        )

    def select(self, request: RequestView) -> Authenticator | None:
        """The scheme that decides this request, or None when no credentials are present."""
        present = [s for s in self.schemes if s.is_present(request)]
        if not present:
            if any(h in request.headers for h in self._credential_headers):
                raise InvalidCredentials(
                    reason="credentials of an unknown or disabled scheme",
                    challenges=self.challenges,
                )
            return None
        if len(present) > 1:
            # A connection credential (a client certificate) yields to one the request
            # carries: with mTLS everywhere, every request also presents a certificate,
            # and a certificate-bound token (RFC 8705) comes with its certificate.
            present = [s for s in present if not getattr(s, "ambient", False)] or present
        if len(present) > 1 and not self._allow_multiple:
            raise InvalidRequest(
                "more than one credential presented: send exactly one",
                reason=f"credentials for {', '.join(s.name for s in present)}",
            )
        return present[0]

    @property
    def needs_body(self) -> bool:
        return any(s.needs_body for s in self.schemes)

    async def authenticate(self, request: RequestView) -> Identity | None:
        """The caller's identity, or None when the request carries no credentials."""
        scheme = self.select(request)
        if scheme is None:
            return None
        return await scheme.authenticate(request)

    def unauthorized(self) -> Unauthorized:
        """The error for a route that needs credentials when none were sent."""
        return Unauthorized(challenges=self.challenges)
