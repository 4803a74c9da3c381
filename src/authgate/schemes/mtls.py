"""Mutual TLS: the client certificate authenticates the request (RFC 8705 §2.2 style,
self-signed or CA-issued, bound by the SHA-256 thumbprint of its DER encoding).

Two sources, tried in this order:

1. **A TLS-terminating proxy** (nginx, HAProxy, Traefik, Envoy) verifies the handshake
   and forwards the leaf certificate in a header (default ``X-SSL-Client-Cert``). The
   header is believed only when the request's *direct peer* is a trusted proxy; from any
   other peer it is ignored as if absent. Accepted encodings: the URL-escaped PEM nginx
   sends as ``$ssl_client_escaped_cert``, a PEM whose line breaks were turned into spaces
   or tabs, and the RFC 9440 ``Client-Cert`` form (``:base64 DER:``).
2. **Direct TLS**: the ASGI server verified the handshake and reports the chain in the
   ASGI TLS extension, ``scope["extensions"]["tls"]["client_cert_chain"]`` (PEM strings,
   leaf first). uvicorn does not provide it; hypercorn does.

The certificate is then looked up by thumbprint among registered certificates
(:meth:`CertificateResolver.resolve_certificate`): the proxy's CA check is a first gate,
the registration is what maps a certificate to a principal. Unknown, revoked, expired
and disabled-owner certificates all answer the same 401; a malformed header answers 400.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from cryptography import x509

from authgate.crypto.certificates import thumbprint_sha256
from authgate.errors import InvalidCredentials
from authgate.http.client_certs import (
    DEFAULT_HEADER,
    MAX_HEADER_LENGTH,
    ClientCertificates,
    ProxyTrust,
    certificate_from_proxy_header,
    certificate_from_tls_chain,
    tls_client_chain,
)
from authgate.http.request import RequestView
from authgate.identity import Identity

__all__ = [
    "DEFAULT_HEADER",
    "MAX_HEADER_LENGTH",
    "CertificateResolver",
    "ClientCertificates",
    "MtlsAuthenticator",
    "ProxyTrust",
    "certificate_from_proxy_header",
    "certificate_from_tls_chain",
    "tls_client_chain",
]


class CertificateResolver(Protocol):
    """The port the mTLS scheme asks which principal a certificate stands for."""

    async def resolve_certificate(self, thumbprint_hex: str) -> Identity | None:
        """The identity of the live certificate with this SHA-256 thumbprint, or None."""


class MtlsAuthenticator:
    """Authenticates requests by a registered client certificate.

    Args:
        resolver: maps a certificate thumbprint to an identity (e.g.
            :class:`~authgate.accounts.pki.PkiResolver`).
        proxies: the TLS-terminating proxies whose certificate header is believed; it
            must be the same set the middleware trusts for ``X-Forwarded-For``.
        header: the header those proxies put the client certificate in.
    """

    name = "mtls"
    challenge = 'Certificate realm="authgate"'
    ambient = True  # a connection credential: a request-carried one takes precedence
    needs_body = False
    cacheable = False  # the header is only believed from some peers: never reuse by value
    credential_params: tuple[str, ...] = ()

    def __init__(
        self,
        resolver: CertificateResolver,
        *,
        proxies: ProxyTrust,
        header: str = DEFAULT_HEADER,
    ) -> None:
        self._resolver = resolver
        # the direct peer decides whether the header is believed, never X-Forwarded-For
        self.certificates = ClientCertificates(proxies, header)
        self.credential_headers: tuple[str, ...] = (self.certificates.header,)

    def is_present(self, request: RequestView) -> bool:
        """A certificate header from a trusted proxy, or a direct TLS client certificate."""
        return self.certificates.is_present(request)

    def certificate(self, request: RequestView) -> x509.Certificate:
        """The client certificate of ``request`` (the proxy's header wins over direct TLS).

        Raises:
            InvalidRequest: the certificate is malformed.
            InvalidCredentials: no certificate at all.
        """
        cert = self.certificates.certificate(request)
        if cert is None:
            raise self._refuse("no client certificate")
        return cert

    async def authenticate(self, request: RequestView) -> Identity:
        """The principal the presented certificate is registered to.

        Raises:
            InvalidRequest: a malformed certificate header.
            InvalidCredentials: no certificate, or one that is unregistered, revoked,
                outside its validity period, or whose owner is disabled.
        """
        cert = self.certificate(request)
        identity = await self._resolver.resolve_certificate(thumbprint_sha256(cert))
        if identity is None:
            raise self._refuse("unregistered, revoked or expired certificate")
        return dataclasses.replace(identity, scheme=self.name)

    def _refuse(self, reason: str) -> InvalidCredentials:
        return InvalidCredentials(reason=f"mtls: {reason}", challenges=(self.challenge,))
