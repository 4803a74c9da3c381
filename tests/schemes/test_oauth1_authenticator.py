"""OAuth 1.0a one-legged verification: requests-oauthlib as the peer, SECURITY.md's attack lines.

Every request here is signed by requests-oauthlib (oauthlib's client), never by the code
under test, except where a test builds a deliberately malformed request by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature
from requests_oauthlib import OAuth1

from authgate.crypto.secret import Secret
from authgate.errors import (
    AuthError,
    InvalidCredentials,
    InvalidRequest,
    PayloadTooLarge,
    Unauthorized,
    render,
)
from authgate.identity import Identity
from authgate.replay import MemoryReplayCache
from authgate.schemes.base import (
    Authenticator,
    Headers,
    KeyPairCredential,
    PublicKeyCredential,
    RequestView,
)
from authgate.schemes.oauth1 import (
    SIGNATURE_METHODS,
    OAuth1Authenticator,
    parse_request,
    verify_rsa_sha256,
)

NOW = 1_700_000_000
KEY = "ag_k_consumer0001"
SECRET = "s3cr3t with spaces & symbols/+="  # exercises §3.6 encoding of the signing key
RSA_KEY_ID = "ag_k_rsa_consumer"
URL = "http://api.example.com:8080/v1/things/a%20b?x=1&y=two%20words&z=%E2%9C%93"
FORM = {"name": "Zoë", "note": "a+b=c&d", "empty": ""}

ALICE = Identity(subject="alice", principal_id="u-1", scheme="keypair", credential_id="kp-1")
ROBOT = Identity(subject="robot", principal_id="u-2", scheme="publickey", credential_id="pk-1")


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


RSA_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PRIVATE_PEM = RSA_PRIVATE.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()


class Keys:
    """In-memory CredentialResolver + PublicKeyResolver."""

    def __init__(self) -> None:
        self.pairs = {KEY: KeyPairCredential(key=KEY, secret=Secret(SECRET), identity=ALICE)}
        self.public = {
            RSA_KEY_ID: PublicKeyCredential(
                key_id=RSA_KEY_ID,
                public_key_pem=_pem(RSA_PRIVATE),
                algorithm="rsa-sha256",
                identity=ROBOT,
            )
        }
        self.lookups: list[str] = []

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        self.lookups.append(key)
        return self.pairs.get(key)

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        return None

    async def resolve_public_key(self, key_id: str) -> PublicKeyCredential | None:
        self.lookups.append(key_id)
        return self.public.get(key_id)


class Clock:
    """A settable clock, shared by the authenticator (epoch) and the replay cache."""

    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


def make_auth(**kwargs: Any) -> tuple[OAuth1Authenticator, Keys, Clock]:
    keys, clock = Keys(), Clock()
    auth = OAuth1Authenticator(keys, keys, MemoryReplayCache(clock=clock), clock=clock, **kwargs)
    return auth, keys, clock


def to_view(prepared: requests.PreparedRequest) -> RequestView:
    """A requests PreparedRequest as the RequestView the middleware would build."""
    assert prepared.url is not None and prepared.method is not None
    url = urlsplit(prepared.url)
    headers = [
        (k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    ]
    body = prepared.body
    return RequestView(
        method=prepared.method,
        scheme=url.scheme,
        authority=url.netloc,
        path=url.path,
        query=url.query,
        headers=Headers(headers),
        body=body.encode() if isinstance(body, str) else body,
    )


def signed(
    method: str = "GET",
    url: str = URL,
    *,
    data: dict[str, str] | None = None,
    placement: str = "auth_header",
    sig_method: str = "HMAC-SHA1",
    key: str = KEY,
    secret: str = SECRET,
    timestamp: int = NOW,
    nonce: str | None = None,
    **client_kwargs: Any,
) -> RequestView:
    """A request signed by requests-oauthlib."""
    if sig_method == "RSA-SHA256":
        client_kwargs.setdefault("rsa_key", RSA_PRIVATE_PEM)
        key = RSA_KEY_ID if key == KEY else key
    oauth = OAuth1(
        key,
        client_secret=None if sig_method == "RSA-SHA256" else secret,
        signature_method=sig_method,
        signature_type=placement,
        timestamp=str(timestamp),
        nonce=nonce,
        **client_kwargs,
    )
    return to_view(requests.Request(method, url, data=data, auth=oauth).prepare())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------- interop


INTEROP = [
    pytest.param(sig, placement, http_method, id=f"{sig}-{placement}-{http_method}")
    for sig in ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA256")
    for placement, http_method in (
        ("auth_header", "GET"),
        ("auth_header", "POST"),
        ("query", "GET"),
        ("query", "POST"),
        ("body", "POST"),  # §3.5.2 needs a form body, so POST only
    )
]


@pytest.mark.parametrize(("sig_method", "placement", "http_method"), INTEROP)
async def test_requests_oauthlib_request_is_accepted(
    sig_method: str, placement: str, http_method: str
) -> None:
    auth, _, _ = make_auth()
    data = dict(FORM) if http_method == "POST" else None
    view = signed(http_method, data=data, placement=placement, sig_method=sig_method)
    assert auth.is_present(view)  # the body, when placed there, is already read
    identity = await auth.authenticate(view)
    expected = ROBOT if sig_method == "RSA-SHA256" else ALICE
    assert identity == dataclasses.replace(expected, scheme="oauth1")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com:443/x",  # default port in the URL: dropped from the base string
        "http://API.Example.COM/",
        "http://127.0.0.1:9000/p;param/q?a=1&a=2&b",
        "http://[::1]:8443/v1",
    ],
)
async def test_requests_oauthlib_url_shapes_are_accepted(url: str) -> None:
    auth, _, _ = make_auth()
    identity = await auth.authenticate(signed("GET", url))
    assert identity.subject == "alice"


async def test_plaintext_over_https_is_accepted() -> None:
    auth, _, _ = make_auth()
    view = signed("POST", "https://api.example.com/v1", data=FORM, sig_method="PLAINTEXT")
    assert (await auth.authenticate(view)).scheme == "oauth1"


async def test_rsa_signature_also_verifies_with_oauthlib() -> None:
    """Our base string + cryptography's RSA check agree with oauthlib's own RSA verifier."""
    view = signed("POST", data=FORM, sig_method="RSA-SHA256")
    parsed = parse_request(view)
    verify_rsa_sha256(parsed.base_string, parsed.signature, _pem(RSA_PRIVATE))

    class OAuthlibRequest:
        http_method = view.method
        uri = f"{view.scheme}://{view.authority}{view.path}"
        signature = parsed.signature
        params = oauthlib_signature.collect_parameters(
            uri_query=view.query,
            body=(view.body or b"").decode(),
            headers={"Authorization": view.headers.get("authorization", "")},
        )

    assert oauthlib_signature.verify_rsa_sha256(OAuthlibRequest(), _pem(RSA_PRIVATE).decode())


async def test_form_body_only_is_present_when_body_known_and_authenticates() -> None:
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM, placement="body")
    assert auth.is_present(view)  # body already read: detected
    assert not auth.is_present(dataclasses.replace(view, body=None))
    assert (await auth.authenticate(view)).subject == "alice"


def test_is_present() -> None:
    auth, _, _ = make_auth()
    bare = RequestView("GET", "https", "h", "/", "", Headers([]))
    assert not auth.is_present(bare)
    for value in ('OAuth oauth_consumer_key="k"', 'oauth realm="x"', "OAuth"):
        assert auth.is_present(
            dataclasses.replace(bare, headers=Headers([("authorization", value)]))
        )
    for value in ("Bearer abc", "OAuthx y", "Basic b2F1dGg="):
        assert not auth.is_present(
            dataclasses.replace(bare, headers=Headers([("authorization", value)]))
        )
    assert auth.is_present(dataclasses.replace(bare, query="a=1&oauth_signature=x"))
    assert not auth.is_present(dataclasses.replace(bare, query="not_oauth_signature=x"))
    assert isinstance(auth, Authenticator)
    assert (auth.name, auth.needs_body) == ("oauth1", True)


def test_configuration_is_checked_at_start_up() -> None:
    keys = Keys()
    with pytest.raises(ValueError, match="unknown"):
        OAuth1Authenticator(keys, keys, MemoryReplayCache(), methods=("HMAC-SHA1", "RSA-SHA1"))
    with pytest.raises(ValueError, match="at least one"):
        OAuth1Authenticator(keys, keys, MemoryReplayCache(), methods=())
    with pytest.raises(ValueError, match="window"):
        OAuth1Authenticator(keys, keys, MemoryReplayCache(), window=0)
    assert set(SIGNATURE_METHODS) == {"HMAC-SHA1", "HMAC-SHA256", "RSA-SHA256", "PLAINTEXT"}


# --------------------------------------------------------------------------- SECURITY.md


def _with_header(view: RequestView, value: str) -> RequestView:
    return dataclasses.replace(view, headers=Headers([("authorization", value)]))


def _header_params(**params: str) -> str:
    return "OAuth " + ", ".join(f'{k}="{v}"' for k, v in params.items())


VALID_PARAMS = {
    "oauth_consumer_key": KEY,
    "oauth_signature_method": "HMAC-SHA1",
    "oauth_timestamp": str(NOW),
    "oauth_nonce": "n0nce",
    "oauth_signature": "AAAA",
}


async def test_security_duplicated_oauth_param_in_header_is_400() -> None:
    auth, keys, _ = make_auth()
    view = signed()
    header = view.headers.get("authorization")
    assert header is not None
    duplicated = header + ', oauth_nonce="another"'
    with pytest.raises(InvalidRequest) as err:
        await auth.authenticate(_with_header(view, duplicated))
    assert err.value.status == 400
    assert keys.lookups == []  # refused before any credential lookup


async def test_security_duplicated_oauth_param_in_query_is_400() -> None:
    auth, _, _ = make_auth()
    view = signed(placement="query")
    with pytest.raises(InvalidRequest):
        await auth.authenticate(dataclasses.replace(view, query=view.query + "&oauth_nonce=x"))


async def test_security_duplicated_oauth_param_in_body_is_400() -> None:
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM, placement="body")
    assert view.body is not None
    with pytest.raises(InvalidRequest):
        await auth.authenticate(dataclasses.replace(view, body=view.body + b"&oauth_timestamp=1"))


@pytest.mark.parametrize(
    ("placement", "extra_place"),
    [("auth_header", "query"), ("auth_header", "body"), ("query", "body"), ("body", "query")],
)
async def test_security_oauth_params_in_two_places_is_400(placement: str, extra_place: str) -> None:
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM, placement=placement)
    extra = "oauth_callback=oob"
    if extra_place == "query":
        view = dataclasses.replace(view, query=f"{view.query}&{extra}" if view.query else extra)
    else:
        view = dataclasses.replace(view, body=(view.body or b"") + b"&" + extra.encode())
    with pytest.raises(InvalidRequest):
        await auth.authenticate(view)


async def test_security_same_param_split_across_header_and_query_is_400() -> None:
    """A signature in the header and a second one in the query: two places, not a merge."""
    auth, _, _ = make_auth()
    view = signed()
    with pytest.raises(InvalidRequest):
        await auth.authenticate(dataclasses.replace(view, query="oauth_signature=AAAA"))


@pytest.mark.parametrize("offset", [-601, 601, -10_000, 10_000_000])
async def test_security_stale_timestamp_is_401(offset: int) -> None:
    auth, _, _ = make_auth()
    with pytest.raises(InvalidCredentials) as err:
        await auth.authenticate(signed(timestamp=NOW + offset))
    assert err.value.status == 401


@pytest.mark.parametrize("offset", [-600, 600, 0])
async def test_timestamp_at_window_edge_is_accepted(offset: int) -> None:
    auth, _, _ = make_auth()
    assert (await auth.authenticate(signed(timestamp=NOW + offset))).subject == "alice"


async def test_window_is_configurable() -> None:
    auth, _, _ = make_auth(window=30)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(signed(timestamp=NOW - 31))
    assert (await auth.authenticate(signed(timestamp=NOW - 30))).subject == "alice"


@pytest.mark.parametrize("sig_method", ["HMAC-SHA1", "RSA-SHA256"])
async def test_security_reused_nonce_is_401(sig_method: str) -> None:
    auth, _, clock = make_auth()
    view = signed(sig_method=sig_method, nonce="only-once")
    await auth.authenticate(view)
    clock.now += 300
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)
    # A fresh nonce from the same consumer at the same second is fine.
    assert await auth.authenticate(signed(sig_method=sig_method, nonce="another-one"))


async def test_security_nonce_from_the_future_is_remembered_until_its_timestamp_is_stale() -> None:
    """TTL covers timestamp + window, not just window: no replay window for future stamps."""
    auth, _, clock = make_auth()
    view = signed(timestamp=NOW + 500, nonce="future")
    await auth.authenticate(view)
    clock.now += 1000  # timestamp now 500 s in the past: still inside the window
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)
    clock.now += 101  # now stale anyway
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_security_failed_signature_does_not_burn_the_nonce() -> None:
    auth, _, _ = make_auth()
    forged = signed(nonce="victim", secret="wrong secret")
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(forged)
    assert await auth.authenticate(signed(nonce="victim"))


@pytest.mark.parametrize(
    ("allowed", "sig_method"),
    [
        (("HMAC-SHA256",), "HMAC-SHA1"),
        (("HMAC-SHA1",), "HMAC-SHA256"),
        (("HMAC-SHA1", "HMAC-SHA256"), "RSA-SHA256"),
        (("HMAC-SHA256", "RSA-SHA256"), "PLAINTEXT"),
        (SIGNATURE_METHODS, "RSA-SHA1"),  # oauthlib signs it; authgate never accepts it
        (SIGNATURE_METHODS, "HMAC-SHA512"),
    ],
)
async def test_security_signature_method_not_allowed_is_400(
    allowed: tuple[str, ...], sig_method: str
) -> None:
    auth, keys, _ = make_auth(methods=allowed)
    url = "https://api.example.com/v1"
    if sig_method == "RSA-SHA1":
        view = signed(url=url, sig_method=sig_method, rsa_key=RSA_PRIVATE_PEM, secret="")
    else:
        view = signed(url=url, sig_method=sig_method)
    with pytest.raises(InvalidRequest) as err:
        await auth.authenticate(view)
    assert err.value.status == 400
    assert keys.lookups == []


async def test_security_plaintext_over_http_is_refused() -> None:
    auth, keys, _ = make_auth()
    view = signed("GET", "http://api.example.com/v1", sig_method="PLAINTEXT")
    with pytest.raises(InvalidRequest) as err:
        await auth.authenticate(view)
    assert err.value.status == 400
    assert keys.lookups == []  # the leaked secret is not even looked at
    # the same request over https verifies, so it was the transport that was refused
    assert await auth.authenticate(dataclasses.replace(view, scheme="https"))


@pytest.mark.parametrize("placement", ["auth_header", "query", "body"])
async def test_security_tampered_body_is_401(placement: str) -> None:
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM, placement=placement)
    assert view.body is not None
    tampered = view.body.replace(b"name=Zo%C3%AB", b"name=Zo%C3%AC")
    assert tampered != view.body
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(dataclasses.replace(view, body=tampered))


@pytest.mark.parametrize("placement", ["auth_header", "query", "body"])
async def test_security_tampered_query_is_401(placement: str) -> None:
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM, placement=placement)
    tampered = view.query.replace("x=1", "x=2")
    assert tampered != view.query
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(dataclasses.replace(view, query=tampered))


@pytest.mark.parametrize(
    "change",
    [
        {"method": "PUT"},
        {"path": "/v1/things/a%20c"},
        {"authority": "api.example.com:8081"},
        {"scheme": "https"},
    ],
    ids=["method", "path", "authority", "scheme"],
)
async def test_security_tampered_request_line_is_401(change: dict[str, str]) -> None:
    auth, _, _ = make_auth()
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(dataclasses.replace(signed(), **change))


async def test_security_unknown_key_and_wrong_signature_give_the_same_401() -> None:
    auth, _, _ = make_auth()
    failures = []
    for view in (
        signed(key="ag_k_nobody", nonce="a"),
        signed(secret="not the secret", nonce="b"),
        signed(sig_method="RSA-SHA256", key="ag_k_nobody_rsa", nonce="c"),
        signed(timestamp=NOW - 3600, nonce="d"),
    ):
        with pytest.raises(InvalidCredentials) as err:
            await auth.authenticate(view)
        failures.append(render(err.value))
    assert all(f == failures[0] for f in failures)
    status, headers, _ = failures[0]
    assert status == 401
    assert ("www-authenticate", 'OAuth realm="authgate"') in headers


@pytest.mark.parametrize(
    ("where", "value"),
    [("header", "%C3%A9%C3%A9"), ("header", "%FF%FE"), ("query", "%C3%A9"), ("query", "\u00e9")],
)
async def test_security_non_ascii_signature_is_401_not_500(where: str, value: str) -> None:
    auth, _, _ = make_auth()
    params = dict(VALID_PARAMS, oauth_signature=value)
    base = RequestView("GET", "https", "api.example.com", "/v1", "", Headers([]))
    if where == "header":
        view = _with_header(base, _header_params(**params))
        expected: type[AuthError] = InvalidCredentials
    else:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        view = dataclasses.replace(base, query=query)
        # a raw non-ASCII character is not form encoding at all: 400
        expected = InvalidCredentials if value.isascii() else InvalidRequest
    with pytest.raises(expected):
        await auth.authenticate(view)


async def test_security_non_ascii_rsa_signature_is_401() -> None:
    auth, _, _ = make_auth()
    params = dict(
        VALID_PARAMS,
        oauth_consumer_key=RSA_KEY_ID,
        oauth_signature_method="RSA-SHA256",
        oauth_signature="%C3%A9",
    )
    view = RequestView(
        "GET", "https", "h", "/", "", Headers([("authorization", _header_params(**params))])
    )
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_security_token_is_refused_by_one_legged_endpoint() -> None:
    auth, _, _ = make_auth()
    view = signed(resource_owner_key="tok", resource_owner_secret="tok-secret")
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_empty_token_is_accepted() -> None:
    """One-legged clients may send ``oauth_token=""`` (RFC 5849 §3.1: MAY be omitted)."""
    auth, _, _ = make_auth()
    assert await auth.authenticate(signed(resource_owner_key="", resource_owner_secret=""))


async def test_security_rsa_algorithm_is_pinned_per_key() -> None:
    auth, keys, _ = make_auth()
    view = signed(sig_method="RSA-SHA256")
    keys.public[RSA_KEY_ID] = dataclasses.replace(keys.public[RSA_KEY_ID], algorithm="ed25519")
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_security_rsa_with_another_key_is_401() -> None:
    auth, _, _ = make_auth()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(signed(sig_method="RSA-SHA256", rsa_key=pem))


async def test_security_non_rsa_registered_key_is_401() -> None:
    auth, keys, _ = make_auth()
    view = signed(sig_method="RSA-SHA256")
    keys.public[RSA_KEY_ID] = dataclasses.replace(
        keys.public[RSA_KEY_ID], public_key_pem=_pem(ec.generate_private_key(ec.SECP256R1()))
    )
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(view)


async def test_security_hmac_with_rsa_consumer_key_is_401() -> None:
    """A key registered only as a public key cannot be used as an HMAC secret."""
    auth, _, _ = make_auth()
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(signed(key=RSA_KEY_ID, secret=_pem(RSA_PRIVATE).decode()))


async def test_rsa_without_public_key_resolver_is_401() -> None:
    keys = Keys()
    auth = OAuth1Authenticator(keys, None, MemoryReplayCache(), clock=lambda: NOW)
    with pytest.raises(InvalidCredentials):
        await auth.authenticate(signed(sig_method="RSA-SHA256"))


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"oauth_version": "2.0"}, "oauth_version"),
        ({"oauth_timestamp": "-5"}, "timestamp"),
        ({"oauth_timestamp": "1e9"}, "timestamp"),
        ({"oauth_timestamp": "1" * 40}, "timestamp"),
        ({"oauth_nonce": ""}, "missing"),
        ({"oauth_signature": ""}, "missing"),
        ({"oauth_consumer_key": "k" * 300}, "oversized"),
    ],
)
async def test_malformed_protocol_parameters_are_400(params: dict[str, str], reason: str) -> None:
    auth, _, _ = make_auth()
    header = _header_params(**dict(VALID_PARAMS, **params))
    view = RequestView("GET", "https", "h", "/", "", Headers([("authorization", header)]))
    with pytest.raises(InvalidRequest) as err:
        await auth.authenticate(view)
    assert reason in err.value.reason


@pytest.mark.parametrize("missing", sorted(VALID_PARAMS))
async def test_missing_protocol_parameter_is_400(missing: str) -> None:
    auth, _, _ = make_auth()
    params = {k: v for k, v in VALID_PARAMS.items() if k != missing}
    view = RequestView(
        "GET", "https", "h", "/", "", Headers([("authorization", _header_params(**params))])
    )
    with pytest.raises(InvalidRequest):
        await auth.authenticate(view)


@pytest.mark.parametrize(
    "header",
    [
        'OAuth oauth_consumer_key="a" oauth_nonce="b"',  # no comma
        "OAuth oauth_consumer_key=unquoted",
        'OAuth oauth_consumer_key="a",,oauth_nonce="b"',
        'OAuth x_custom="1", oauth_nonce="b"',  # only protocol parameters belong here
        'OAuth oauth_nonce="has space"',  # not §3.6-encoded
        'OAuth realm="a", realm="b", oauth_nonce="b"',
    ],
)
async def test_malformed_authorization_header_is_400(header: str) -> None:
    auth, _, _ = make_auth()
    view = RequestView("GET", "https", "h", "/", "", Headers([("authorization", header)]))
    with pytest.raises(InvalidRequest):
        await auth.authenticate(view)


async def test_two_authorization_headers_are_400() -> None:
    auth, _, _ = make_auth()
    view = signed()
    header = view.headers.get("authorization")
    assert header is not None
    twice = dataclasses.replace(view, headers=Headers([("authorization", header)] * 2))
    with pytest.raises(InvalidRequest):
        await auth.authenticate(twice)


async def test_two_content_type_headers_are_400() -> None:
    """Whether the body is signed must not depend on which Content-Type a parser picks."""
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM)
    headers = Headers([*view.headers.items(), ("content-type", "text/plain")])
    with pytest.raises(InvalidRequest):
        await auth.authenticate(dataclasses.replace(view, headers=headers))


async def test_non_form_body_is_not_signed_but_form_body_is() -> None:
    """§3.4.1.3.1: only form bodies are signed; other bodies are out of OAuth 1.0a's reach."""
    auth, _, _ = make_auth()
    view = signed("POST", data=FORM)
    as_json = Headers([("authorization", view.headers.get("authorization") or "")])
    with pytest.raises(InvalidCredentials):  # form params were signed; now they are missing
        await auth.authenticate(dataclasses.replace(view, headers=as_json))
    json_view = signed("POST", data=None, nonce="json")
    assert await auth.authenticate(
        dataclasses.replace(
            json_view,
            headers=Headers([*json_view.headers.items(), ("content-type", "application/json")]),
            body=b'{"any": "thing"}',
        )
    )


async def test_oversized_authorization_header_is_413() -> None:
    auth, _, _ = make_auth()
    header = _header_params(**dict(VALID_PARAMS, oauth_callback="a" * 10_000))
    view = RequestView("GET", "https", "h", "/", "", Headers([("authorization", header)]))
    with pytest.raises(PayloadTooLarge):
        await auth.authenticate(view)


@pytest.mark.parametrize(
    "change",
    [{"authority": "user@host"}, {"authority": "host:99999"}, {"scheme": "ftp"}, {"path": "x"}],
)
async def test_malformed_url_is_400(change: dict[str, str]) -> None:
    auth, _, _ = make_auth()
    with pytest.raises(InvalidRequest):
        await auth.authenticate(dataclasses.replace(signed(), **change))


async def test_no_oauth_parameters_is_401_unauthorized() -> None:
    auth, _, _ = make_auth()
    view = RequestView("GET", "https", "h", "/", "a=1", Headers([("authorization", "OAuth")]))
    with pytest.raises(Unauthorized) as err:
        await auth.authenticate(view)
    assert err.value.challenges == ('OAuth realm="authgate"',)


async def test_realm_in_header_is_not_signed() -> None:
    """§3.4.1.3.1: the header's realm is excluded from the base string."""
    auth, _, _ = make_auth()
    view = signed(realm="Photos")
    header = view.headers.get("authorization")
    assert header is not None and 'realm="Photos"' in header
    assert await auth.authenticate(view)


# --------------------------------------------------------------------------- fuzzing

FUZZ_AUTH, _, _ = make_auth()
LATIN1 = st.text(st.characters(max_codepoint=0xFF), max_size=200)
NAMES = st.one_of(st.sampled_from([*VALID_PARAMS, "realm", "oauth_version", "oauth_token"]), LATIN1)
PAIRS = st.lists(st.tuples(NAMES, LATIN1), max_size=8)


@st.composite
def oauth_headers(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(LATIN1)
    if kind == 1:
        return "OAuth " + draw(LATIN1)
    pairs = draw(PAIRS)
    quote = draw(st.sampled_from(['"', "", "'"]))
    sep = draw(st.sampled_from([", ", ",", " ", ",,"]))
    return "OAuth " + sep.join(f"{k}={quote}{v}{quote}" for k, v in pairs)


@st.composite
def queries(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(LATIN1)
    return (
        urlencode(draw(PAIRS))
        if draw(st.booleans())
        else "&".join(f"{k}={v}" for k, v in draw(PAIRS))
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=oauth_headers(), query=queries(), body=st.binary(max_size=200))
def test_fuzz_only_auth_errors_escape(header: str, query: str, body: bytes) -> None:
    view = RequestView(
        "POST",
        "https",
        "api.example.com",
        "/v1",
        query,
        Headers([("authorization", header), ("content-type", "application/x-www-form-urlencoded")]),
        body=body,
    )
    assert FUZZ_AUTH.is_present(view) in (True, False)
    with pytest.raises(AuthError):
        run(FUZZ_AUTH.authenticate(view))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_valid_header_is_refused_with_auth_error(data: st.DataObject) -> None:
    view = signed(nonce="fuzz-nonce")
    header = view.headers.get("authorization")
    assert header is not None
    at = data.draw(st.integers(0, len(header) - 1))
    char = data.draw(st.characters(max_codepoint=0xFF).filter(lambda c: c != header[at]))
    mutated = header[:at] + char + header[at + 1 :]
    auth, _, _ = make_auth()
    try:
        run(auth.authenticate(_with_header(view, mutated)))
    except AuthError:
        return
    # The only mutations that can still verify leave the signed content unchanged
    # (the scheme name's case, whitespace): the parsed request must be the original one.
    assert parse_request(_with_header(view, mutated)) == parse_request(view)
