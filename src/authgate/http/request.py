"""The plain-data view of a request every scheme reads (no ASGI, no database)."""

from __future__ import annotations

from dataclasses import dataclass

from authgate.http.headers import Headers

__all__ = ["RequestView"]


@dataclass(slots=True)
class RequestView:
    """What a scheme may read of a request (read-only by contract; use ``dataclasses.replace``).

    Not a frozen dataclass only because it is built on every request and frozen
    initialisation costs several times more.

    Attributes:
        method: upper-case HTTP method.
        scheme: ``http`` or ``https`` as seen by the client (trusted proxies only).
        authority: the Host (``host[:port]``) the client addressed.
        path: the raw, still percent-encoded path.
        query: the raw query string, without ``?``.
        headers: request headers.
        client_ip: the trusted client address, or None.
        body: the request body when a scheme that signs bodies needs it, else None.
        peer: the address of the direct peer (``scope["client"]``), never from headers —
            what decides whether a proxy-supplied header (client certificate) is believed.
        tls_client_chain: the client certificate chain (PEM, leaf first) when the server
            terminated TLS itself (ASGI TLS extension), else empty.
    """

    method: str
    scheme: str
    authority: str
    path: str
    query: str
    headers: Headers
    client_ip: str | None = None
    body: bytes | None = None
    peer: str | None = None
    tls_client_chain: tuple[str, ...] = ()
