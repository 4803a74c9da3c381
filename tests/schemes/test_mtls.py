"""The mTLS scheme: certificate sources, trusted-peer rule, header parsing, uniform failures."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given, settings
from hypothesis import strategies as st
from tests._pki_material import issue, make_ca

from authgate.embedding import AuthMiddleware, get_identity
from authgate.errors import AuthError, InvalidCredentials, InvalidRequest
from authgate.http.proxies import TrustedProxies
from authgate.identity import Identity
from authgate.schemes.base import Headers, RequestView
from authgate.schemes.chain import SchemeChain
from authgate.schemes.mtls import (
    MtlsAuthenticator,
    certificate_from_proxy_header,
    certificate_from_tls_chain,
    tls_client_chain,
)

CA = make_ca()
GOOD = issue(CA, "good-client")
OTHER = issue(CA, "unregistered")
GOOD_THUMB = GOOD.cert.fingerprint(hashes.SHA256()).hex()
SVC = Identity(subject="svc", principal_id="u-1", scheme="?", credential_id="c-1")
PROXY = "10.0.0.2"


class Registered:
    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def resolve_certificate(self, thumbprint_hex: str) -> Identity | None:
        self.lookups.append(thumbprint_hex)
        return SVC if thumbprint_hex == GOOD_THUMB else None


if "peer" in RequestView.__dataclass_fields__:  # the middleware already passes them
    FutureView = RequestView
else:

    @dataclasses.dataclass(slots=True)
    class FutureView(RequestView):  # type: ignore[no-redef]
        """RequestView with the two fields the middleware is to pass (direct peer, TLS chain)."""

        peer: str | None = None
        tls_client_chain: tuple[str, ...] = ()


def nginx_escaped(pem: bytes) -> str:
    """What nginx sends for ``$ssl_client_escaped_cert`` (every reserved byte escaped)."""
    return quote(pem.decode("ascii"), safe="")


def view(
    headers: dict[str, str] | None = None,
    *,
    client_ip: str | None = PROXY,
    peer: str | object | None = ...,
    chain: tuple[str, ...] = (),
) -> RequestView:
    base: dict[str, Any] = dict(
        method="GET",
        scheme="https",
        authority="api.example.com",
        path="/",
        query="",
        headers=Headers((headers or {}).items()),
        client_ip=client_ip,
    )
    if peer is ...:
        if not chain and FutureView is not RequestView:
            return RequestView(**base)  # today's RequestView: the client_ip fallback
        peer = client_ip  # what the middleware sees without X-Forwarded-For
    return FutureView(**base, peer=peer, tls_client_chain=chain)  # type: ignore[arg-type]


def authenticator(
    resolver: Registered | None = None, proxies: tuple[str, ...] = (PROXY,)
) -> MtlsAuthenticator:
    return MtlsAuthenticator(resolver or Registered(), proxies=TrustedProxies(list(proxies)))


# -- header parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        nginx_escaped,
        lambda pem: pem.decode(),  # a proxy that sends it raw (the test-only form)
        lambda pem: pem.decode().replace("\n", " "),  # line breaks folded into spaces
        lambda pem: pem.decode().replace("\n", "\n\t"),  # nginx's old $ssl_client_cert
        lambda pem: ":" + base64.b64encode(GOOD.cert_der).decode() + ":",  # RFC 9440
    ],
    ids=["nginx-escaped", "raw", "spaces", "tabs", "rfc9440"],
)
def test_header_encodings(encode: Any) -> None:
    assert certificate_from_proxy_header(encode(GOOD.cert_pem)) == GOOD.cert


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "garbage",
        "%ZZ",
        "%FF%FE",
        "::",
        ":not base64!:",
        ":" + base64.b64encode(b"\x30\x00").decode() + ":",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        nginx_escaped(GOOD.cert_pem + OTHER.cert_pem),  # a chain: exactly one is allowed
        nginx_escaped(GOOD.cert_pem)[:-40],
        "x" * 60_000,
    ],
)
def test_malformed_headers_are_400(value: str) -> None:
    with pytest.raises(InvalidRequest):
        certificate_from_proxy_header(value)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.text(alphabet="%0123456789ABCDEFabcdef:-= \n\t+/", max_size=300),
        st.binary(max_size=300).map(lambda b: ":" + base64.b64encode(b).decode() + ":"),
        st.binary(max_size=300).map(
            lambda b: nginx_escaped(
                b"-----BEGIN CERTIFICATE-----\n"
                + base64.encodebytes(b)
                + b"-----END CERTIFICATE-----\n"
            )
        ),
    )
)
async def test_fuzzed_header_only_ever_raises_auth_errors(value: str) -> None:
    # latin-1 is what a header can carry
    value = value.encode("utf-8").decode("latin-1")
    auth = authenticator()
    request = view({"x-ssl-client-cert": value})
    try:
        certificate_from_proxy_header(value)
    except AuthError as exc:
        assert exc.status == 400
    if auth.is_present(request):
        with pytest.raises(AuthError) as info:
            await auth.authenticate(request)
        assert info.value.status in (400, 401)


# -- the trusted-peer rule ---------------------------------------------------------------


async def test_registered_certificate_from_trusted_proxy() -> None:
    auth = authenticator()
    request = view({"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)})
    assert auth.is_present(request)
    identity = await auth.authenticate(request)
    assert identity == dataclasses.replace(SVC, scheme="mtls")


async def test_unregistered_certificate_is_uniform_401() -> None:
    auth = authenticator()
    with pytest.raises(InvalidCredentials) as info:
        await auth.authenticate(view({"X-SSL-Client-Cert": nginx_escaped(OTHER.cert_pem)}))
    assert info.value.status == 401 and info.value.challenges == (auth.challenge,)


def test_header_from_untrusted_peer_is_ignored() -> None:
    header = {"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)}
    assert not authenticator().is_present(view(header, client_ip="198.51.100.7"))
    assert not authenticator().is_present(view(header, client_ip=None))
    assert not authenticator(proxies=()).is_present(view(header))  # no proxies configured
    assert SchemeChain([authenticator()]).select(view(header, client_ip="198.51.100.7")) is None


def test_with_peer_field_the_peer_decides_not_the_client_ip() -> None:
    header = {"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)}
    auth = authenticator()
    # via the proxy, with the real client's address from X-Forwarded-For: believed
    assert auth.is_present(view(header, client_ip="198.51.100.7", peer=PROXY))
    # a direct peer that is not a proxy, whatever the client address says: ignored
    assert not auth.is_present(view(header, client_ip=PROXY, peer="198.51.100.7"))


def test_custom_header_name_is_the_credential_header() -> None:
    auth = MtlsAuthenticator(Registered(), proxies=TrustedProxies([PROXY]), header="SSL-Client")
    assert auth.credential_headers == ("ssl-client",) and auth.credential_params == ()
    assert auth.cacheable is False and auth.needs_body is False
    assert auth.is_present(view({"SSL-Client": nginx_escaped(GOOD.cert_pem)}))
    assert not auth.is_present(view({"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)}))


# -- direct TLS (ASGI TLS extension) -----------------------------------------------------


def tls_scope(**tls: Any) -> dict[str, Any]:
    return {"type": "http", "extensions": {"tls": {"server_cert": None, **tls}}}


def test_tls_extension_chain_parsing() -> None:
    pem = GOOD.cert_pem.decode()
    chain = (pem, CA.cert_pem.decode())
    assert tls_client_chain(tls_scope(client_cert_chain=list(chain))) == chain
    assert tls_client_chain(tls_scope(client_cert_chain=chain, client_cert_error=None)) == chain
    assert certificate_from_tls_chain(chain) == GOOD.cert
    # verification failed, no certificate, no TLS, or nonsense types: nothing
    assert tls_client_chain(tls_scope(client_cert_chain=chain, client_cert_error="expired")) == ()
    assert tls_client_chain(tls_scope(client_cert_chain=[])) == ()
    assert tls_client_chain(tls_scope()) == ()
    assert tls_client_chain({"type": "http"}) == ()
    assert tls_client_chain({"extensions": None}) == ()
    assert tls_client_chain({"extensions": {"tls": "x"}}) == ()
    assert tls_client_chain(tls_scope(client_cert_chain=pem)) == ()  # a str is not a chain
    assert tls_client_chain(tls_scope(client_cert_chain=[1, pem])) == (pem,)
    with pytest.raises(InvalidRequest):
        certificate_from_tls_chain(())
    with pytest.raises(InvalidRequest):
        certificate_from_tls_chain(("not a certificate",))


async def test_direct_tls_certificate_authenticates_from_any_peer() -> None:
    auth = authenticator(proxies=())
    chain = tls_client_chain(tls_scope(client_cert_chain=[GOOD.cert_pem.decode()]))
    request = view(client_ip="198.51.100.7", peer="198.51.100.7", chain=chain)
    assert auth.is_present(request)
    assert (await auth.authenticate(request)).subject == "svc"
    other = view(peer="198.51.100.7", chain=(OTHER.cert_pem.decode(),))
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(other)


async def test_proxy_header_wins_over_the_proxy_own_tls_certificate() -> None:
    resolver = Registered()
    auth = authenticator(resolver)
    request = view(
        {"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)},
        peer=PROXY,
        chain=(OTHER.cert_pem.decode(),),  # the proxy's own client certificate
    )
    assert (await auth.authenticate(request)).subject == "svc"
    assert resolver.lookups == [GOOD_THUMB]


# -- through the real middleware ---------------------------------------------------------


async def whoami(scope: Any, receive: Any, send: Any) -> None:
    identity = get_identity(scope)
    body = f"{identity.subject}|{identity.scheme}" if identity else "anonymous"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


def client(peer: str, proxies: list[str]) -> httpx2.AsyncClient:
    app = AuthMiddleware(
        whoami,
        SchemeChain([MtlsAuthenticator(Registered(), proxies=TrustedProxies(proxies))]),
        trusted_proxies=TrustedProxies(proxies),
    )
    transport = httpx2.ASGITransport(app=app, client=(peer, 4433))
    return httpx2.AsyncClient(transport=transport, base_url="https://api")


async def test_middleware_trusted_proxy_untrusted_peer_and_unregistered() -> None:
    good = {"X-SSL-Client-Cert": nginx_escaped(GOOD.cert_pem)}
    async with client(PROXY, [PROXY]) as c:
        assert (await c.get("/", headers=good)).text == "svc|mtls"
        r = await c.get("/", headers={"X-SSL-Client-Cert": nginx_escaped(OTHER.cert_pem)})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
        r = await c.get("/", headers={"X-SSL-Client-Cert": "junk"})
        assert r.status_code == 400
    async with client("198.51.100.7", [PROXY]) as c:
        assert (await c.get("/", headers=good)).text == "anonymous"
