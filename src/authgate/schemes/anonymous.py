"""No Auth, made explicit: the scheme for routes that also serve callers without credentials.

A route that allows anonymous access still runs the whole chain: credentials that are
present are verified, and a present but invalid credential is a 401 — it never degrades
to anonymous (that is how a revoked key keeps "working" on an open route). Hence this
scheme is never *present* in the chain's sense and cannot compete with real credentials;
it only names the outcome "no credentials were sent" as :data:`ANONYMOUS`, so handlers
can treat every caller as an :class:`~authgate.identity.Identity`.
"""

from __future__ import annotations

from authgate.http.request import RequestView
from authgate.identity import Identity

__all__ = ["ANONYMOUS", "AnonymousAuthenticator", "identity_or_anonymous"]

ANONYMOUS = Identity(subject="anonymous", principal_id="anonymous", scheme="anonymous")
"""The identity of a caller who sent no credentials: no scopes, no roles."""


def identity_or_anonymous(identity: Identity | None) -> Identity:
    """``identity``, or :data:`ANONYMOUS` when the request carried no credentials (None)."""
    return ANONYMOUS if identity is None else identity


class AnonymousAuthenticator:
    """The No Auth scheme: never present, so the chain only ever reaches it by absence.

    ``challenge`` is empty: there is nothing to ask an anonymous caller for, and a 401
    lists only the challenges of schemes that take credentials.
    """

    name = "anonymous"
    challenge = ""
    needs_body = False
    cacheable = False
    credential_headers: tuple[str, ...] = ()
    credential_params: tuple[str, ...] = ()

    def is_present(self, request: RequestView) -> bool:
        """Always False: sending nothing is not a credential that could outrank another."""
        return False

    async def authenticate(self, request: RequestView) -> Identity:
        """:data:`ANONYMOUS`; only meaningful when no other scheme's credentials are present."""
        return ANONYMOUS
