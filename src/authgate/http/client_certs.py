"""Reading a request's client certificate: a trusted proxy's header, else direct TLS.

Two sources, tried in this order:

1. **A TLS-terminating proxy** forwards the leaf certificate in a header (default
   ``X-SSL-Client-Cert``), believed only when the request's *direct peer* is a trusted
   proxy. Accepted encodings: the URL-escaped PEM nginx sends as
   ``$ssl_client_escaped_cert``, a PEM whose line breaks were turned into spaces or tabs,
   and the RFC 9440 ``Client-Cert`` form (``:base64 DER:``).
2. **Direct TLS**: the ASGI TLS extension,
   ``scope["extensions"]["tls"]["client_cert_chain"]`` (PEM strings, leaf first).

Used by the mTLS scheme (:mod:`authgate.schemes.mtls`), certificate-bound tokens and the
token endpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote

from cryptography import x509

from authgate.crypto.certificates import (
    MAX_CERTIFICATE_BYTES,
    CertificateError,
    load_certificate,
    x5t_s256,
)
from authgate.errors import InvalidRequest
from authgate.http.request import RequestView

__all__ = [
    "DEFAULT_HEADER",
    "ClientCertificates",
    "ProxyTrust",
    "certificate_from_proxy_header",
    "certificate_from_tls_chain",
    "tls_client_chain",
]

DEFAULT_HEADER = "X-SSL-Client-Cert"
# an escaped PEM of a 4096-bit RSA certificate is ~2.5 KB; a chain is refused anyway
MAX_HEADER_LENGTH = 3 * MAX_CERTIFICATE_BYTES
_PEM_BODY = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
_WHITESPACE = re.compile(r"\s+")


class ProxyTrust(Protocol):
    """Which direct peers are trusted proxies (:class:`~authgate.http.proxies.TrustedProxies`)."""

    def is_trusted(self, addr: str | None) -> bool:
        """True when ``addr`` is a trusted proxy address."""


def _malformed(reason: str) -> InvalidRequest:
    return InvalidRequest("malformed client certificate header", reason=f"mtls: {reason}")


def certificate_from_proxy_header(value: str) -> x509.Certificate:
    """The client certificate a TLS-terminating proxy forwarded in a header.

    Args:
        value: the header value: URL-escaped PEM (nginx ``$ssl_client_escaped_cert``),
            PEM with its line breaks folded into spaces or tabs, or RFC 9440 ``:DER:``.

    Returns:
        The leaf certificate (exactly one certificate must be present).

    Raises:
        InvalidRequest: for anything that is not exactly one well-formed certificate.
    """
    value = value.strip()
    if not value or len(value) > MAX_HEADER_LENGTH:
        raise _malformed("empty or oversized header")
    try:
        if len(value) > 2 and value[0] == ":" and value[-1] == ":":  # RFC 9440 sf-binary
            body = value[1:-1]
        else:
            text = unquote(value, errors="strict") if "%" in value else value
            blocks = _PEM_BODY.findall(text)
            if len(blocks) != 1:
                raise _malformed("expected exactly one PEM certificate")
            body = _WHITESPACE.sub("", blocks[0])
        der = base64.b64decode(body.encode("ascii"), validate=True)
        return load_certificate(der)
    except (UnicodeError, binascii.Error, CertificateError) as exc:
        raise _malformed(f"undecodable certificate ({type(exc).__name__})") from exc


def tls_client_chain(scope: Mapping[str, Any]) -> tuple[str, ...]:
    """The verified client certificate chain of a direct TLS connection (ASGI TLS extension).

    Returns:
        PEM strings, leaf first; empty when the connection is not TLS, the client sent
        no certificate, the server cannot report it, or verification failed
        (``client_cert_error`` is set).
    """
    extensions = scope.get("extensions")
    tls = extensions.get("tls") if isinstance(extensions, Mapping) else None
    if not isinstance(tls, Mapping) or tls.get("client_cert_error") is not None:
        return ()
    chain = tls.get("client_cert_chain")
    if not chain or isinstance(chain, str | bytes) or not isinstance(chain, Iterable):
        return ()
    return tuple(c for c in chain if isinstance(c, str))


def certificate_from_tls_chain(chain: tuple[str, ...]) -> x509.Certificate:
    """The leaf (first) certificate of a chain from :func:`tls_client_chain`.

    Raises:
        InvalidRequest: the chain is empty or its first entry is not one PEM certificate.
    """
    if not chain:
        raise _malformed("empty TLS client certificate chain")
    try:
        return load_certificate(chain[0].encode("ascii"))
    except (UnicodeError, CertificateError) as exc:
        raise _malformed("unreadable TLS client certificate") from exc


class ClientCertificates:
    """Reads a request's client certificate: a trusted proxy's header, else direct TLS.

    Shared by the mTLS scheme (which authenticates by it) and by certificate-bound
    tokens (RFC 8705 §3: bound at the token endpoint, checked wherever the token is used).

    Args:
        proxies: the TLS-terminating proxies whose certificate header is believed; it
            must be the same set the middleware trusts for ``X-Forwarded-For``.
        header: the header those proxies put the client certificate in.
    """

    def __init__(self, proxies: ProxyTrust, header: str = DEFAULT_HEADER) -> None:
        self._proxies = proxies
        self.header = header.lower()

    def _believed(self, value: str | None, peer: str | None) -> str | None:
        """The certificate header's value, when sent by a trusted direct peer."""
        if not value or not value.strip() or not self._proxies.is_trusted(peer):
            return None
        return value

    def proxy_header(self, request: RequestView) -> str | None:
        """The certificate header, when sent by a trusted direct peer (never otherwise)."""
        return self._believed(request.headers.get(self.header), request.peer)

    def is_present(self, request: RequestView) -> bool:
        return self.proxy_header(request) is not None or bool(request.tls_client_chain)

    def certificate(self, request: RequestView) -> x509.Certificate | None:
        """The client certificate (the proxy's header wins over direct TLS), or None.

        Raises:
            InvalidRequest: the certificate is malformed.
        """
        return _certificate(self.proxy_header(request), request.tls_client_chain)

    def x5t_s256(self, request: RequestView) -> str | None:
        """RFC 8705 §3.1 ``x5t#S256`` of the client certificate; None when there is none
        or it is malformed (a binding check then fails, it never errors)."""
        return _x5t_or_none(self.proxy_header(request), request.tls_client_chain)

    def x5t_s256_of_scope(self, scope: Mapping[str, Any]) -> str | None:
        """:meth:`x5t_s256` straight from an ASGI scope (for endpoints outside the chain)."""
        name = self.header.encode("latin-1")
        values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
        client = scope.get("client")
        peer = client[0] if client else None
        if len(values) > 1 and self._proxies.is_trusted(peer):
            return None  # two certificate headers: believe neither
        header = self._believed(values[0] if values else None, peer)
        return _x5t_or_none(header, tls_client_chain(scope))


def _certificate(header: str | None, chain: tuple[str, ...]) -> x509.Certificate | None:
    """The proxy's (believed) header wins over the direct TLS chain; None without either.

    Raises:
        InvalidRequest: the certificate is malformed.
    """
    if header is not None:
        return certificate_from_proxy_header(header)
    if chain:
        return certificate_from_tls_chain(chain)
    return None


def _x5t_or_none(header: str | None, chain: tuple[str, ...]) -> str | None:
    try:
        cert = _certificate(header, chain)
    except InvalidRequest:
        return None
    return x5t_s256(cert) if cert is not None else None
