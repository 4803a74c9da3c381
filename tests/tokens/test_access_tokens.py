"""RFC 9068 access tokens: exact claim set, header, algorithms, verification, PyJWT peer,
identity mapping, revocation through the verifier and the bearer scheme."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.schemes.base import Headers, RequestView
from authgate.schemes.bearer import BearerJWTAuthenticator
from authgate.schemes.own_tokens import OwnTokenAuthenticator
from authgate.tokens.access import (
    ACCESS_TOKEN_CLAIMS,
    AccessTokenIssuer,
    AccessTokenVerifier,
    identity_from_access_token,
)
from authgate.tokens.issuers import IssuerConfig
from authgate.tokens.jwks import StaticKeySource
from authgate.tokens.revocation import MemoryRevocationList
from authgate.tokens.signing import (
    SIGNING_ALGORITHMS,
    SigningKey,
    SigningKeyRing,
    generate_signing_key,
    public_jwk,
)

T0 = 1_800_000_000.0
ISS = "https://auth.example.com"
AUD = "https://api.example.com"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Keys:
    def __init__(self) -> None:
        keys = []
        for alg in SIGNING_ALGORITHMS:
            private = generate_signing_key(alg)
            jwk = public_jwk(private, alg)
            keys.append(SigningKey(str(jwk["kid"]), alg, private, jwk, T0 - 5, T0 - 5))
        self.ring = SigningKeyRing(keys)


KEYS = Keys()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    return json.loads(urlsafe_b64decode(h.encode())), json.loads(urlsafe_b64decode(p.encode()))


def make(alg: str = "EdDSA", clock: Clock | None = None, **kw: Any) -> AccessTokenIssuer:
    return AccessTokenIssuer(
        KEYS, issuer=ISS, audience=AUD, algorithm=alg, clock=clock or Clock(), **kw
    )


def verifier(
    issuer: AccessTokenIssuer, clock: Clock, revoked: MemoryRevocationList | None = None
) -> AccessTokenVerifier:
    source = StaticKeySource(KEYS.ring.verification_keys(T0))
    return AccessTokenVerifier(
        issuer.issuer_config(),
        source,
        revoked if revoked is not None else MemoryRevocationList(clock=clock),
        clock=clock,
    )


def test_claim_set_is_exactly_rfc_9068_plus_known_optionals() -> None:
    issued = make().issue(
        subject="u-123",
        client_id="cred-9",
        scopes=["read", "write"],
        username="alice",
        roles=["member"],
        auth_time=T0 - 10.7,
        acr="urn:authgate:key-pair",
    )
    header, claims = parts(issued.token)
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA" and header["kid"]
    assert set(header) == {"alg", "typ", "kid"}
    assert claims == {
        "iss": ISS,
        "sub": "u-123",
        "aud": AUD,
        "client_id": "cred-9",
        "scope": "read write",
        "jti": issued.jti,
        "iat": int(T0),
        "exp": int(T0) + 3600,
        "auth_time": int(T0 - 11),
        "acr": "urn:authgate:key-pair",
        "preferred_username": "alice",
        "roles": ["member"],
    }
    assert issued.expires_in == 3600 and issued.expires_at == int(T0) + 3600
    minimal = parts(make().issue(subject="u", client_id="c", scopes=[]).token)[1]
    assert set(minimal) == set(ACCESS_TOKEN_CLAIMS) and minimal["scope"] == ""
    assert "token" not in repr(issued).replace("token=***", "")


def test_jti_is_unique_and_high_entropy() -> None:
    issuer = make()
    jtis = {issuer.issue(subject="u", client_id="c", scopes=[]).jti for _ in range(200)}
    assert len(jtis) == 200 and all(len(j) >= 22 for j in jtis)


def test_lifetime_override_never_extends() -> None:
    issuer = make(lifetime=600)
    assert issuer.issue(subject="u", client_id="c", scopes=[], lifetime=60).expires_in == 60
    assert issuer.issue(subject="u", client_id="c", scopes=[], lifetime=6000).expires_in == 600


@pytest.mark.parametrize("alg", SIGNING_ALGORITHMS)
async def test_issue_and_verify_every_algorithm(alg: str) -> None:
    clock = Clock()
    issuer = make(alg, clock)
    issued = issuer.issue(subject="u-1", client_id="c-1", scopes=["a"], username="al")
    assert parts(issued.token)[0]["alg"] == alg
    identity = await verifier(issuer, clock).verify(issued.token)
    assert identity.as_json() == {
        "subject": "al",
        "principal_id": "u-1",
        "scheme": "bearer",
        "credential_id": "c-1",
        "scopes": ["a"],
        "roles": [],
    }
    assert identity.expires_at == issued.expires_at


@pytest.mark.parametrize("alg", SIGNING_ALGORITHMS)
def test_pyjwt_verifies_from_our_jwks(alg: str) -> None:
    issued = make(alg).issue(subject="u-1", client_id="c-1", scopes=["a"])
    jwks = jwt.PyJWKSet.from_dict(KEYS.ring.jwks(T0))
    kid = parts(issued.token)[0]["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(
        issued.token,
        key.key,
        algorithms=[alg],
        audience=AUD,
        issuer=ISS,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "u-1"


async def test_expired_wrong_audience_tampered_and_wrong_typ_are_refused() -> None:
    clock = Clock()
    issuer = make(clock=clock)
    v = verifier(issuer, clock)
    token = issuer.issue(subject="u", client_id="c", scopes=["a"]).token

    other_aud = AccessTokenIssuer(KEYS, issuer=ISS, audience="https://other", clock=clock)
    with pytest.raises(InvalidCredentials):
        await v.verify(other_aud.issue(subject="u", client_id="c", scopes=[]).token)

    h, p, s = token.split(".")
    claims = json.loads(urlsafe_b64decode(p.encode()))
    claims["scope"] = "a admin"
    forged = ".".join([h, urlsafe_b64encode(json.dumps(claims).encode()).decode(), s])
    with pytest.raises(InvalidCredentials):
        await v.verify(forged)

    id_token = KEYS.ring.sign(claims, algorithm="EdDSA", now=T0, typ="JWT")
    with pytest.raises(InvalidCredentials):
        await v.verify(id_token)

    clock.now = T0 + 3600 + 30
    with pytest.raises(InvalidCredentials):
        await v.verify(token)


async def test_revoked_jti_is_refused_until_expiry() -> None:
    clock = Clock()
    issuer = make(clock=clock)
    revoked = MemoryRevocationList(clock=clock)
    v = verifier(issuer, clock, revoked)
    issued = issuer.issue(subject="u", client_id="c", scopes=[])
    other = issuer.issue(subject="u", client_id="c", scopes=[])
    await revoked.revoke(issued.jti, issued.expires_at)
    with pytest.raises(InvalidCredentials):
        await v.verify(issued.token)
    assert (await v.verify(other.token)).principal_id == "u"
    clock.now = issued.expires_at + 1
    assert not await revoked.is_revoked(issued.jti)
    assert len(revoked) == 0  # the entry is gone with the token


def bearer_request(token: str) -> RequestView:
    headers = Headers([("authorization", f"Bearer {token}")])
    return RequestView("GET", "https", "api.example.com", "/v1/whoami", "", headers)


async def test_bearer_wrapper_checks_the_deny_list_and_maps_the_caller_every_time() -> None:
    clock = Clock()
    issuer = make(clock=clock)
    revoked = MemoryRevocationList(clock=clock)
    external = IssuerConfig(issuer="https://idp.example", audiences=["x"], public_key_pem=None)
    inner = BearerJWTAuthenticator(
        [issuer.issuer_config(), external],
        http=None,
        clock=clock,
        key_sources={
            ISS: StaticKeySource(KEYS.ring.verification_keys(T0)),
            "https://idp.example": StaticKeySource(KEYS.ring.verification_keys(T0)),
        },
    )
    scheme = OwnTokenAuthenticator(inner, issuer=ISS, revocation=revoked)
    assert scheme.cacheable is False and scheme.name == "bearer"
    issued = issuer.issue(subject="u-7", client_id="k-7", scopes=["r"], username="bob")
    request = bearer_request(issued.token)
    assert scheme.is_present(request)
    first = await scheme.authenticate(request)
    assert (first.subject, first.principal_id, first.credential_id) == ("bob", "u-7", "k-7")
    await revoked.revoke(issued.jti, issued.expires_at)
    # the inner verified-token cache holds it, the deny-list still wins
    with pytest.raises(InvalidCredentials):
        await scheme.authenticate(request)

    # tokens of external issuers pass through with the generic mapping
    ext = AccessTokenIssuer(KEYS, issuer="https://idp.example", audience="x", clock=clock)
    ext_token = ext.issue(subject="ext-user", client_id="app", scopes=[]).token
    ext_identity = await scheme.authenticate(bearer_request(ext_token))
    assert (
        ext_identity.principal_id == "https://idp.example|ext-user"
        and ext_identity.credential_id != "app"
    )

    with pytest.raises(ValueError):
        OwnTokenAuthenticator(inner, issuer="https://unknown", revocation=revoked)


def test_identity_mapping_requires_sub_and_client_id() -> None:
    with pytest.raises(InvalidCredentials):
        identity_from_access_token(Identity("s", "p", "bearer", claims={"sub": "p"}))
    mapped = identity_from_access_token(
        Identity("p", "p", "bearer", claims={"sub": "p", "client_id": "c", "exp": 5})
    )
    assert (mapped.subject, mapped.credential_id, mapped.expires_at) == ("p", "c", 5.0)


def test_issuer_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError):
        make("HS256")
    with pytest.raises(ValueError):
        make(lifetime=0)
