"""BearerJWTAuthenticator: presence, identity mapping, PyJWT peers, JWKS I/O, cache, fuzz."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import get_default_algorithms

from authgate.errors import AuthError, InvalidCredentials, render
from authgate.schemes.base import Authenticator, Headers, RequestView
from authgate.schemes.bearer import BearerJWTAuthenticator
from authgate.tokens import CHALLENGE, IssuerConfig, KeyRing, StaticKeySource

NOW = 1_700_000_000
ISS = "https://login.example.org"
JWKS_URL = "https://login.example.org/jwks"
ALGS = get_default_algorithms()
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
PRIVATE: dict[str, Any] = {"RS256": RSA_KEY, "ES256": EC_KEY, "EdDSA": ED_KEY}
KIDS = {"RS256": "r1", "ES256": "e1", "EdDSA": "o1"}


def jwks() -> dict[str, Any]:
    keys = []
    for alg, priv in PRIVATE.items():
        keys.append(json.loads(ALGS[alg].to_jwk(priv.public_key())) | {"kid": KIDS[alg]})
    return {"keys": keys}


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []

    async def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if str(request.url) != JWKS_URL:
            return httpx2.Response(200, json=jwks())  # an attacker's server would answer
        return httpx2.Response(200, json=jwks(), headers={"cache-control": "max-age=300"})


def make(
    recorder: Recorder | None = None, clock: Clock | None = None, **cfg: Any
) -> BearerJWTAuthenticator:
    recorder = recorder or Recorder()
    fields: dict[str, Any] = {"issuer": ISS, "audiences": ["orders"], "jwks_url": JWKS_URL}
    fields.update(cfg)
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(recorder.handler))
    return BearerJWTAuthenticator([IssuerConfig(**fields)], http=http, clock=clock or Clock())


def pyjwt_token(alg: str = "ES256", headers: dict[str, Any] | None = None, **claims: Any) -> str:
    payload: dict[str, Any] = {
        "iss": ISS,
        "sub": "user-42",
        "aud": "orders",
        "exp": NOW + 300,
        "iat": NOW,
        "jti": "jti-1",
        "scope": "orders:read orders:write",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}  # None drops a claim
    h = {"kid": KIDS[alg], "typ": "at+jwt"} | (headers or {})
    return jwt.encode(payload, PRIVATE[alg], algorithm=alg, headers=h)


def request(authorization: str | None, *extra: tuple[str, str]) -> RequestView:
    items = [("authorization", authorization)] if authorization is not None else []
    return RequestView("GET", "https", "api.example", "/", "", Headers([*items, *extra]))


BASELINE = render(InvalidCredentials(challenges=(CHALLENGE,)))


async def rejected(auth: BearerJWTAuthenticator, value: str) -> InvalidCredentials:
    with pytest.raises(InvalidCredentials) as info:
        await auth.authenticate(request(value))
    assert render(info.value) == BASELINE
    return info.value


def test_is_an_authenticator() -> None:
    auth = make()
    assert isinstance(auth, Authenticator)
    assert (auth.name, auth.needs_body) == ("bearer", False)


@pytest.mark.parametrize(
    ("value", "present"),
    [
        ("Bearer aaa.bbb.ccc", True),
        ("bearer aaa.bbb.ccc", True),
        ("BEARER aaa.bbb.", True),  # unsigned: ours to refuse, not an API key
        ("Bearer ag_live_9f8e7d6c5b4a", False),  # an authgate API key
        ("Bearer aaa.bbb", False),
        ("Bearer a.b.c.d.e", False),
        ("Bearer aaa.bbb.c+c", False),
        ("Bearer ", False),
        ("Basic dXNlcjpwYXNz", False),
        ("ApiKey aaa.bbb.ccc", False),
        ("Bearer\taaa.bbb.ccc", False),
    ],
)
def test_is_present_only_for_jwt_shaped_bearer(value: str, present: bool) -> None:
    assert make().is_present(request(value)) is present


def test_is_present_without_header() -> None:
    assert make().is_present(request(None)) is False


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_pyjwt_tokens_verify(alg: str) -> None:
    auth = make()
    identity = await auth.authenticate(request(f"Bearer {pyjwt_token(alg)}"))
    assert identity.subject == "user-42"
    assert identity.principal_id == f"{ISS}|user-42"
    assert identity.scheme == "bearer"
    assert identity.credential_id == "jti-1"
    assert identity.scopes == ("orders:read", "orders:write")
    assert identity.claims["aud"] == "orders"


async def test_identity_mapping_options() -> None:
    auth = make(roles_claim="roles", principal_format="subject", subject_claim="email")
    tok = pyjwt_token(roles=["admin", "ops"], email="u@example.org", scope=None, scp=["a", "b"])
    ident = await auth.authenticate(request(f"Bearer {tok}"))
    assert (ident.subject, ident.principal_id) == ("u@example.org", "u@example.org")
    assert ident.roles == ("admin", "ops")
    assert ident.scopes == ("a", "b")
    ident2 = await make().authenticate(request(f"Bearer {pyjwt_token(jti=None)}"))
    assert ident2.credential_id is None


async def test_unknown_issuer_rejected() -> None:
    auth = make()
    assert "issuer" in (await rejected(auth, f"Bearer {pyjwt_token(iss='https://evil')}")).reason


async def test_failures_share_one_body_and_challenge() -> None:
    auth = make()
    await auth.authenticate(request(f"Bearer {pyjwt_token()}"))
    bad = [
        pyjwt_token(exp=NOW - 3600),
        pyjwt_token(aud="billing"),
        pyjwt_token(headers={"kid": "nope"}),
        pyjwt_token(headers={"typ": "JWT"}),
        pyjwt_token()[:-4] + "AAAA",
        "aaa.bbb.",
    ]
    reasons = set()
    for tok in bad:
        err = await rejected(auth, f"Bearer {tok}")
        assert err.response_headers() == [("www-authenticate", CHALLENGE)]
        reasons.add(err.reason)
    assert len(reasons) == len(bad)  # the audit reason differs, the response does not


async def test_duplicate_authorization_header_rejected() -> None:
    tok = pyjwt_token()
    req = request(f"Bearer {tok}", ("authorization", f"Bearer {tok}"))
    with pytest.raises(InvalidCredentials):
        await make().authenticate(req)


async def test_jku_x5u_jwk_headers_rejected_without_fetch() -> None:
    recorder = Recorder()
    auth = make(recorder)
    await auth.authenticate(request(f"Bearer {pyjwt_token()}"))
    assert len(recorder.requests) == 1
    attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_jwk = json.loads(ALGS["ES256"].to_jwk(attacker.public_key()))
    cert_b64 = "MIIBszCCAVmgAwIBAgIUJ"  # shape only: it must never be parsed or fetched
    for extra in [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"jwk": attacker_jwk},
        {"x5c": [cert_b64]},
        {"jku": JWKS_URL},  # even the issuer's own URL is not taken from the token
    ]:
        for key in (attacker, EC_KEY):
            tok = jwt.encode(
                {"iss": ISS, "sub": "x", "aud": "orders", "exp": NOW + 60, "iat": NOW},
                key,
                algorithm="ES256",
                headers={"kid": "e1", "typ": "at+jwt", **extra},
            )
            await rejected(auth, f"Bearer {tok}")
    assert [str(r.url) for r in recorder.requests] == [JWKS_URL]


async def test_hostile_kid_causes_at_most_one_rate_limited_refetch() -> None:
    recorder = Recorder()
    auth = make(recorder)
    await auth.authenticate(request(f"Bearer {pyjwt_token()}"))
    for kid in ["../../dev/null", "x' UNION SELECT '1';--", "|sleep 10", "", "a" * 300]:
        tok = jwt.encode(
            {"iss": ISS, "sub": "x", "aud": "orders", "exp": NOW + 60, "iat": NOW},
            EC_KEY,
            algorithm="ES256",
            headers={"kid": kid, "typ": "at+jwt"},
        )
        await rejected(auth, f"Bearer {tok}")
    assert {str(r.url) for r in recorder.requests} == {JWKS_URL}
    assert len(recorder.requests) == 1  # within the refresh interval: no refetch at all


async def test_warm_cache_rechecks_expiry_with_injected_clock() -> None:
    recorder, clock = Recorder(), Clock()
    auth = make(recorder, clock)
    tok = pyjwt_token(exp=NOW + 100)
    first = await auth.authenticate(request(f"Bearer {tok}"))
    assert await auth.authenticate(request(f"Bearer {tok}")) is first  # served from cache
    clock.now = NOW + 100 + 31  # past exp + leeway
    await rejected(auth, f"Bearer {tok}")


async def test_failed_tokens_are_not_cached_as_valid() -> None:
    auth = make()
    tok = pyjwt_token(aud="billing")
    for _ in range(3):
        await rejected(auth, f"Bearer {tok}")
    assert auth.verifier.cache is not None and len(auth.verifier.cache) == 0


async def test_cache_disabled_verifies_every_time() -> None:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(Recorder().handler))
    cfg = IssuerConfig(issuer=ISS, audiences=["orders"], jwks_url=JWKS_URL)
    auth = BearerJWTAuthenticator([cfg], http=http, clock=Clock(), use_cache=False)
    tok = pyjwt_token()
    a = await auth.authenticate(request(f"Bearer {tok}"))
    b = await auth.authenticate(request(f"Bearer {tok}"))
    assert a == b and a is not b


async def test_local_key_source_for_own_issuer() -> None:
    """authgate's own tokens: one more issuer whose keys are local (no HTTP at all)."""
    own = IssuerConfig(issuer="https://authgate.local", audiences=["authgate"])
    ring = KeyRing.from_jwks(jwks(), own.allowed_algorithms, strict=True)
    auth = BearerJWTAuthenticator(
        [own],
        http=None,
        clock=Clock(),
        key_sources={"https://authgate.local": StaticKeySource(ring)},
    )
    tok = pyjwt_token("EdDSA", iss="https://authgate.local", aud="authgate")
    assert (await auth.authenticate(request(f"Bearer {tok}"))).subject == "user-42"


async def test_static_pem_issuer() -> None:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cfg = IssuerConfig(issuer=ISS, audiences=["orders"], public_key_pem=pem.decode())
    auth = BearerJWTAuthenticator([cfg], http=None, clock=Clock())
    assert (await auth.authenticate(request(f"Bearer {pyjwt_token('RS256')}"))).subject
    await rejected(auth, f"Bearer {pyjwt_token('ES256')}")


async def test_owned_http_client_is_closed() -> None:
    cfg = IssuerConfig(issuer=ISS, audiences=["orders"], jwks_url=JWKS_URL)
    auth = BearerJWTAuthenticator([cfg], http=None)
    await auth.aclose()


# --- fuzz ---------------------------------------------------------------------------

_b64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/")
_json_b64 = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
).map(
    lambda v: __import__("base64").urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode()
)
_header_values = st.one_of(
    st.text(max_size=200),
    st.builds(lambda a, b, c: f"Bearer {a}.{b}.{c}", _b64, _b64, _b64),
    st.builds(lambda a, b, c: f"Bearer {a}.{b}.{c}", _json_b64, _json_b64, _b64),
    st.builds(
        lambda tok, i, ch: f"Bearer {tok[:i]}{ch}{tok[i + 1 :]}",
        st.just(pyjwt_token()),
        st.integers(0, 400),
        st.characters(codec="latin-1"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(value=_header_values)
def test_fuzz_authorization_header_only_auth_errors_escape(value: str) -> None:
    async def run() -> None:
        auth = make()
        req = request(value)
        auth.is_present(req)  # never raises
        try:
            await auth.authenticate(req)
        except AuthError as err:
            assert render(err)[0] in (400, 401)

    asyncio.run(run())
