"""The original request behind a forward-auth subrequest.

A proxy that asks authgate whether to let a request through (nginx ``auth_request``,
Traefik ForwardAuth, Envoy ``ext_authz``) does not send that request: it sends a
subrequest to ``/verify`` that describes it. :func:`original_scope` turns the subrequest's
ASGI scope into the scope of the request the client sent, so that every scheme verifies
(and the policy decides) the method, path, query and host the client signed:

- nginx: ``X-Original-Method`` and ``X-Original-URI`` (``$request_method``,
  ``$request_uri``);
- Traefik: ``X-Forwarded-Method`` and ``X-Forwarded-Uri``;
- Envoy (``http_service`` with ``path_prefix: /verify``): the subrequest itself carries the
  original method, and its path is the prefix followed by the original path.

``X-Forwarded-Host`` (else ``Host``) is the original host, ``X-Forwarded-Proto`` the
original scheme. The caller must have checked that the peer is a trusted proxy: these
headers say whatever a client wants them to say.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from authgate.errors import InvalidRequest
from authgate.http.asgi import Scope

__all__ = ["FORWARDING_HEADERS", "original_scope"]

#: the headers that describe the original request (a client's own are never believed)
FORWARDING_HEADERS = frozenset(
    {
        b"x-original-method",
        b"x-original-uri",
        b"x-forwarded-method",
        b"x-forwarded-uri",
        b"x-forwarded-host",
        b"x-forwarded-proto",
    }
)
_MAX_URI = 8192
_METHOD = re.compile(r"[A-Z][A-Z-]{0,31}")
# origin-form (RFC 9112 §3.2.1): a path and an optional query, visible ASCII only
_URI = re.compile(rb"/[\x21-\x7e]*")
_HOST = re.compile(rb"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_PROTOS = (b"http", b"https")


def original_scope(scope: Scope, prefix: str) -> Scope:
    """The scope of the request the subrequest ``scope`` describes.

    Args:
        scope: the ASGI scope of the subrequest, from a trusted proxy.
        prefix: the path the forward-auth endpoint is served at (``/verify``).

    Raises:
        InvalidRequest: a forwarding header is repeated or malformed (400): the request
            it describes cannot be known, so it is not let through.
    """
    found: dict[bytes, bytes] = {}
    headers: list[tuple[bytes, bytes]] = []
    for name, value in scope["headers"]:
        lower = name.lower()
        if lower in FORWARDING_HEADERS:
            if lower in found:
                raise InvalidRequest(f"duplicate {lower.decode()} header")
            found[lower] = value.strip()
            continue
        headers.append((lower, value))
    method = _method(found.get(b"x-original-method") or found.get(b"x-forwarded-method"))
    uri = found.get(b"x-original-uri") or found.get(b"x-forwarded-uri")
    if uri is None:
        raw: bytes = scope.get("raw_path") or scope["path"].encode("latin-1")
        own = raw.partition(b"?")[0]
        uri = (own[len(prefix) :] or b"/") + _query_suffix(scope)
    elif len(uri) > _MAX_URI or not _URI.fullmatch(uri):
        raise InvalidRequest("the forwarded URI is not a path with an optional query")
    path, _, query = uri.partition(b"?")
    host = found.get(b"x-forwarded-host")
    if host is not None:
        if not _HOST.fullmatch(host):
            raise InvalidRequest("the forwarded host is malformed")
        headers = [(n, v) for n, v in headers if n != b"host"] + [(b"host", host)]
    proto = found.get(b"x-forwarded-proto")
    if proto is not None and proto.lower() not in _PROTOS:
        raise InvalidRequest("the forwarded protocol is neither http nor https")
    original = dict(scope)
    original.update(
        method=method or scope["method"],
        scheme=proto.lower().decode() if proto is not None else scope.get("scheme", "http"),
        path=unquote(path.decode("latin-1")),
        raw_path=path,
        query_string=query,
        headers=headers,
        root_path="",
    )
    return original


def _method(value: bytes | None) -> str | None:
    if value is None:
        return None
    method = value.decode("latin-1")
    if not _METHOD.fullmatch(method):
        raise InvalidRequest("the forwarded method is malformed")
    return method


def _query_suffix(scope: Scope) -> bytes:
    query: bytes = scope.get("query_string", b"")
    return b"?" + query if query else b""
