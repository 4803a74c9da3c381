"""The identity headers a proxy passes to its upstream (docs/forward-auth.md).

``X-Authgate-Subject``, ``-Principal``, ``-Credential``, ``-Scheme`` and ``-Scopes`` (the
scopes separated by spaces). Every one is always sent, empty when the request is anonymous
or the value is absent, so that a proxy copying them overwrites whatever a client sent
under those names. Values are percent-encoded UTF-8 (RFC 3986 §2.1) except for visible ASCII
other than ``%``: a user name such as ``alice`` or ``svc-billing`` passes unchanged, a
space is ``%20``, and no value can carry a line break into a header. The scopes are each
encoded so, then joined with single spaces.
"""

from __future__ import annotations

from urllib.parse import quote

from authgate.identity import Identity

__all__ = ["IDENTITY_HEADERS", "identity_headers"]

SUBJECT = b"x-authgate-subject"
PRINCIPAL = b"x-authgate-principal"
CREDENTIAL = b"x-authgate-credential"
SCHEME = b"x-authgate-scheme"
SCOPES = b"x-authgate-scopes"
#: every identity header name, lower case
IDENTITY_HEADERS = (SUBJECT, PRINCIPAL, CREDENTIAL, SCHEME, SCOPES)

_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def identity_headers(identity: Identity | None) -> list[tuple[bytes, bytes]]:
    """The identity headers of ``identity`` (all empty for None: anonymous)."""
    if identity is None:
        return [(name, b"") for name in IDENTITY_HEADERS]
    return [
        (SUBJECT, _encode(identity.subject)),
        (PRINCIPAL, _encode(identity.principal_id)),
        (CREDENTIAL, _encode(identity.credential_id or "")),
        (SCHEME, _encode(identity.scheme)),
        (SCOPES, b" ".join(_encode(scope) for scope in identity.scopes)),
    ]


def _encode(value: str) -> bytes:
    return quote(value, safe=_SAFE).encode("ascii")
