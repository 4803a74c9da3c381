"""SECURITY.md "JWT bearer" catalogue: one named test per line (RFC 8725, ASVS 5.0 V9)."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pydantic
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from authgate.errors import InvalidCredentials, render
from authgate.tokens import CHALLENGE, IssuerConfig, KeyRing, TokenVerifier
from authgate.tokens.keys import pin_algorithms
from authgate.tokens.verify import verify_jws

NOW = 1_700_000_000
ISS = "https://idp.example.com"
ALGS = get_default_algorithms()

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
PRIVATE = {"RS256": RSA_KEY, "ES256": EC_KEY, "EdDSA": ED_KEY}
KIDS = {"RS256": "rsa-1", "ES256": "ec-1", "EdDSA": "ed-1"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(alg: str) -> dict[str, Any]:
    jwk = json.loads(ALGS[alg].to_jwk(PRIVATE[alg].public_key()))
    jwk["kid"] = KIDS[alg]
    return jwk


JWKS = {"keys": [public_jwk(a) for a in ("RS256", "ES256", "EdDSA")]}


def issuer(**overrides: Any) -> IssuerConfig:
    fields: dict[str, Any] = {"issuer": ISS, "audiences": ["api"], "jwks": JWKS}
    fields.update(overrides)
    return IssuerConfig(**fields)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "sub": "alice",
        "aud": "api",
        "exp": NOW + 600,
        "iat": NOW - 10,
        "jti": "tok-1",
        "scope": "read",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def forge(
    header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, alg: str, key: Any
) -> str:
    """Sign arbitrary header/payload bytes (PyJWT's primitives; the header is not checked)."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    signer = ALGS[alg]
    sig = signer.sign(signing_input, signer.prepare_key(key) if isinstance(key, bytes) else key)
    return f"{signing_input.decode()}.{b64(sig)}"


def token(alg: str = "ES256", header: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
    h: dict[str, Any] = {"alg": alg, "typ": "at+jwt", "kid": KIDS.get(alg, "x")}
    h.update(header or {})
    return forge(h, claims(**claim_overrides), alg, PRIVATE[alg])


def verifier(cfg: IssuerConfig | None = None) -> tuple[TokenVerifier, KeyRing]:
    cfg = cfg or issuer()
    return TokenVerifier([cfg], clock=lambda: NOW), KeyRing.from_config(cfg)


BASELINE = render(InvalidCredentials(challenges=(CHALLENGE,)))


def reject(tok: str, cfg: IssuerConfig | None = None) -> InvalidCredentials:
    """Assert the token gets the uniform 401 and return the error (its reason is for audit)."""
    v, ring = verifier(cfg)
    with pytest.raises(InvalidCredentials) as info:
        v.verify_with(tok, ring)
    assert render(info.value) == BASELINE
    assert info.value.response_headers() == [("www-authenticate", CHALLENGE)]
    return info.value


def accept(tok: str, cfg: IssuerConfig | None = None) -> None:
    v, ring = verifier(cfg)
    assert v.verify_with(tok, ring).subject == "alice"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_valid_tokens_verify(alg: str) -> None:
    accept(token(alg))


# --- alg none ------------------------------------------------------------------------


@pytest.mark.parametrize("none", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "c2ln"])
def test_alg_none_variants_rejected(none: str, signature: str) -> None:
    header = b64(json.dumps({"alg": none, "typ": "at+jwt", "kid": "ec-1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    err = reject(f"{header}.{payload}.{signature}")
    assert "none" in err.reason or "signature" in err.reason


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_empty_signature_segment_rejected(alg: str) -> None:
    head, payload, _sig = token(alg).split(".")
    assert "empty signature" in reject(f"{head}.{payload}.").reason


# --- algorithm confusion (CVE-2022-29217, CVE-2024-33663) -----------------------------


def _public_key_texts() -> list[tuple[str, bytes, str]]:
    out: list[tuple[str, bytes, str]] = []
    for alg, priv in PRIVATE.items():
        pub = priv.public_key()
        spki = pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        ssh = pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        out += [(alg, spki, "pem"), (alg, ssh, "openssh")]
        out.append((alg, json.dumps(public_jwk(alg)).encode(), "jwk"))
        if alg == "RS256":
            pkcs1 = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
            out.append((alg, pkcs1, "pkcs1-pem"))
    return out


@pytest.mark.parametrize(("alg", "text", "form"), _public_key_texts())
@pytest.mark.parametrize("hmac_alg", ["HS256", "HS384", "HS512"])
def test_hs256_signed_with_rsa_public_key_pem_rejected(
    alg: str, text: bytes, form: str, hmac_alg: str
) -> None:
    header = {"alg": hmac_alg, "typ": "at+jwt", "kid": KIDS[alg]}
    payload = json.dumps(claims()).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}".encode()
    import hmac as _hmac

    digest = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}[hmac_alg]
    forged = f"{signing_input.decode()}.{b64(_hmac.new(text, signing_input, digest).digest())}"
    # 1. The default issuer does not even allow HS*.
    reject(forged)
    # 2. Even with an allow-list that includes HS*, a public key is never pinned to HS*.
    everything = frozenset({"HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"})
    ring = KeyRing.from_jwks(JWKS, everything, strict=True)
    assert all(not (k.algorithms & {"HS256", "HS384", "HS512"}) for k in ring.keys)
    with pytest.raises(InvalidCredentials):
        verify_jws(forged, ring, everything)
    # 3. A PEM-configured issuer behaves the same.
    pem = (
        PRIVATE[alg]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    reject(forged, issuer(jwks=None, public_key_pem=pem.decode()))


def test_token_alg_never_overrides_key_pin() -> None:
    # An RS256-pinned key refuses a PS256 signature by the same RSA key, and keys refuse
    # tokens of another family even when the kid matches.
    jwk = public_jwk("RS256") | {"alg": "RS256"}
    cfg = issuer(jwks={"keys": [jwk]}, algorithms=["RS256", "PS256"])
    ps = forge({"alg": "PS256", "typ": "at+jwt", "kid": "rsa-1"}, claims(), "PS256", RSA_KEY)
    assert "no key" in reject(ps, cfg).reason
    es_with_rsa_kid = token("ES256", header={"kid": "rsa-1"})
    reject(es_with_rsa_kid)
    key = KeyRing.from_config(issuer()).keys[0]
    assert pin_algorithms(key.key, None, frozenset({"HS256", "RS256"})) == {"RS256"}


# --- allow-lists ------------------------------------------------------------------------


def test_empty_allowed_algorithms_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="must not be empty"):
        issuer(algorithms=[])
    ring = KeyRing.from_config(issuer())
    # Below the config layer, an empty allow-list still verifies nothing (joserfc would
    # otherwise fall back to its "recommended" algorithms).
    with pytest.raises(InvalidCredentials):
        verify_jws(token("ES256"), ring, frozenset())


def test_alg_outside_issuer_allow_list_rejected() -> None:
    cfg = issuer(algorithms=["ES256"], jwks={"keys": [public_jwk("ES256")]})
    assert "not allowed" in reject(token("RS256"), cfg).reason
    # A static key that fits none of the issuer's algorithms is a configuration error.
    with pytest.raises(pydantic.ValidationError, match="fits none"):
        issuer(algorithms=["ES256"])


# --- embedded keys and key URLs (CVE-2018-0114; RFC 8725 §3.10) -------------------------
# The remote-JWKS variant (MockTransport asserting no request) lives in
# tests/schemes/test_bearer_jwt.py::test_jku_x5u_jwk_headers_rejected_without_fetch.


def test_attacker_key_in_jwk_header_rejected() -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ALGS["ES256"].to_jwk(attacker.public_key()))
    tok = forge({"alg": "ES256", "typ": "at+jwt", "jwk": jwk}, claims(), "ES256", attacker)
    assert "jwk" in reject(tok).reason
    # Even the real key embedded as jwk, with a valid signature, is refused.
    tok = forge(
        {"alg": "ES256", "typ": "at+jwt", "kid": "ec-1", "jwk": public_jwk("ES256")},
        claims(),
        "ES256",
        EC_KEY,
    )
    reject(tok)


# --- hostile kid -------------------------------------------------------------------------

HOSTILE_KIDS: list[Any] = [
    "../../dev/null",
    "",
    "x' UNION SELECT '1';--",
    "|sleep 10",
    "$(touch /tmp/pwned)",
    "/etc/passwd",
    "\x00",
    "k" * 10_000,
    123,
    None,
    ["ec-1"],
    {"kid": "ec-1"},
    True,
]


@pytest.mark.parametrize("kid", HOSTILE_KIDS, ids=repr)
def test_hostile_kid_rejected_without_side_effects(kid: Any, tmp_path: Any) -> None:
    v, ring = verifier()
    before = [(k.kid, k.algorithms) for k in ring.keys]
    tok = forge({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims(), "ES256", EC_KEY)
    with pytest.raises(InvalidCredentials) as info:
        v.verify_with(tok, ring)
    assert render(info.value) == BASELINE
    assert [(k.kid, k.algorithms) for k in ring.keys] == before
    assert not (tmp_path / "pwned").exists()


# --- HMAC keys (RFC 8725 §3.5) ---------------------------------------------------------


def oct_jwks(secret: bytes, kid: str = "hs-1", alg: str | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = {"kty": "oct", "kid": kid, "k": b64(secret)}
    if alg:
        jwk["alg"] = alg
    return {"keys": [jwk]}


@pytest.mark.parametrize(
    ("alg", "size"), [("HS256", 0), ("HS256", 16), ("HS256", 31), ("HS384", 47), ("HS512", 63)]
)
def test_short_hmac_key_refused_at_startup(alg: str, size: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        issuer(jwks=oct_jwks(b"k" * size, alg=alg), algorithms=[alg])


def test_hmac_needs_static_oct_key() -> None:
    with pytest.raises(pydantic.ValidationError, match="oct"):
        issuer(jwks=None, jwks_url="https://idp.example.com/jwks", algorithms=["HS256"])


@pytest.mark.parametrize("attacker_key", [b"", b"short", b"\x00" * 32])
def test_hs256_with_empty_or_short_key_rejected(attacker_key: bytes) -> None:
    secret = bytes(range(32))
    cfg = issuer(jwks=oct_jwks(secret), algorithms=["HS256"])
    good = forge({"alg": "HS256", "typ": "at+jwt", "kid": "hs-1"}, claims(), "HS256", secret)
    accept(good, cfg)
    head = {"alg": "HS256", "typ": "at+jwt", "kid": "hs-1"}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims()).encode())}"
    import hmac as _hmac

    sig = _hmac.new(attacker_key, signing_input.encode(), "sha256").digest()
    reject(f"{signing_input}.{b64(sig)}", cfg)


# --- psychic signatures (CVE-2022-21449) ----------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [b64(bytes(64)), "MAYCAQACAQA", b64(bytes(32) + b"\x01" + bytes(31)), b64(bytes(65))],
    ids=["zeros-64", "der-r0-s0", "r0", "zeros-65"],
)
def test_es256_zero_signature_rejected(signature: str) -> None:
    head, payload, _ = token("ES256").split(".")
    assert "signature" in reject(f"{head}.{payload}.{signature}").reason


# --- crit (RFC 7515 §4.1.11) ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": NOW + 60},
        {"crit": ["urn:example:unknown"], "urn:example:unknown": 1},
        {"crit": []},
        {"crit": "b64"},
        {"crit": {"b64": False}},
        {"crit": [1]},
        {"crit": None},
        {"crit": ["absent"]},
        {"crit": ["b64"], "b64": False},
        {"crit": ["b64"], "b64": True},
    ],
    ids=repr,
)
def test_crit_cases_rejected(extra: dict[str, Any]) -> None:
    assert "crit" in reject(token("ES256", header=extra)).reason or "b64" in repr(extra)


# --- claims -------------------------------------------------------------------------


def test_expired_exp_rejected() -> None:
    assert "expired" in reject(token(exp=NOW - 31)).reason
    accept(token(exp=NOW - 29))  # within the 30 s leeway
    assert "expired" in reject(token(exp=NOW - 1), issuer(leeway=0)).reason


def test_future_nbf_rejected() -> None:
    assert "nbf" in reject(token(nbf=NOW + 31)).reason
    accept(token(nbf=NOW + 29))


def test_future_iat_rejected() -> None:
    assert "iat" in reject(token(iat=NOW + 3600)).reason


@pytest.mark.parametrize("aud", [_DROP, "other-api", ["other", "more"], []], ids=repr)
def test_missing_or_foreign_aud_rejected(aud: Any) -> None:
    assert "aud" in reject(token(aud=aud)).reason


def test_aud_list_with_accepted_member_verifies() -> None:
    accept(token(aud=["other", "api"]))


@pytest.mark.parametrize(
    "iss",
    [
        "https://idp.example.com.evil.net",
        "https://idp.example.co",
        "https://idp.example.com/",
        "HTTPS://IDP.EXAMPLE.COM",
        "https://idp.example.com ",
    ],
)
def test_iss_prefix_rejected(iss: str) -> None:
    assert "issuer" in reject(token(iss=iss)).reason


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "sub"])
def test_missing_required_claim_rejected(claim: str) -> None:
    reject(token(**{claim: _DROP}))


# --- explicit typing (RFC 9068 §2.1; RFC 8725 §3.11) ----------------------------------


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"])
def test_at_jwt_typ_accepted(typ: str) -> None:
    accept(token(header={"typ": typ}))


@pytest.mark.parametrize(
    "typ", [_DROP, "JWT", "jwt", "id_token+jwt", "refresh+jwt", "logout+jwt", "dpop+jwt", None, 1]
)
def test_id_or_refresh_token_typ_rejected(typ: Any) -> None:
    h = {"alg": "ES256", "kid": "ec-1"}
    if typ is not _DROP:
        h["typ"] = typ
    assert "typ" in reject(forge(h, claims(), "ES256", EC_KEY)).reason


def test_untyped_jwt_accepted_only_when_configured() -> None:
    lax = issuer(require_at_jwt=False)
    accept(token(header={"typ": "JWT"}), lax)
    accept(forge({"alg": "ES256", "kid": "ec-1"}, claims(), "ES256", EC_KEY), lax)
    reject(token(header={"typ": "refresh+jwt"}), lax)
    reject(token(header={"typ": "JWT"}, nonce="n-0S6_WzA2Mj"), lax)  # an OIDC ID token


# --- size cap -------------------------------------------------------------------------


def test_token_over_size_cap_rejected_before_parsing() -> None:
    big = token(pad="x" * 17_000)
    assert len(big) > 16 * 1024
    assert "cap" in reject(big).reason
    garbage = "!" * (16 * 1024 + 1)  # would fail parsing too, but the cap answers first
    assert "cap" in reject(garbage).reason
    small = TokenVerifier([issuer()], clock=lambda: NOW, max_token_bytes=256)
    with pytest.raises(InvalidCredentials, match="cap"):
        small.inspect(token())


# --- wrong JSON types -------------------------------------------------------------------

CHECKED_CLAIMS = ("exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope", "scp", "roles")
CHECKED_CLAIMS += ("client_id",)
WRONG_TYPES: list[Any] = [None, True, False, 0, 1.5, "x", [], ["a"], {}, {"a": 1}]
VALID_ANYWAY = [
    ("nbf", 0),
    ("nbf", 1.5),
    ("iat", 0),
    ("iat", 1.5),
    ("sub", "x"),
    ("jti", "x"),
    ("scope", "x"),
    ("scp", "x"),
    ("scp", []),
    ("scp", ["a"]),
    ("roles", []),
    ("roles", ["a"]),
    ("client_id", "x"),
]


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        (c, v)
        for c in CHECKED_CLAIMS
        for v in WRONG_TYPES
        if not any(c == vc and type(v) is type(vv) and v == vv for vc, vv in VALID_ANYWAY)
    ],
    ids=repr,
)
def test_wrong_type_claims_rejected(claim: str, value: Any) -> None:
    cfg = issuer(roles_claim="roles")
    over: dict[str, Any] = {claim: value}
    if claim == "scp":
        over["scope"] = _DROP
    reject(token(**over), cfg)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"iss": "https://idp.example.com", "iss": "https://idp.example.com", "sub": "a"}',
        b'{"iss": "https://idp.example.com", "exp": NaN}',
        b'{"iss": "https://idp.example.com", "exp": Infinity}',
        b"[" * 5000 + b"]" * 5000,
        b'"just a string"',
        b"null",
        b"\xff\xfe",
        b"",
    ],
    ids=["duplicate", "nan", "infinity", "deep", "string", "null", "not-utf8", "empty"],
)
def test_malformed_payload_rejected(payload: bytes) -> None:
    reject(forge({"alg": "ES256", "typ": "at+jwt", "kid": "ec-1"}, payload, "ES256", EC_KEY))


@pytest.mark.parametrize(
    "header",
    [
        b'{"alg": "ES256", "alg": "none", "kid": "ec-1", "typ": "at+jwt"}',
        b'["ES256"]',
        b'{"kid": "ec-1", "typ": "at+jwt"}',
        b'{"alg": ["ES256"], "kid": "ec-1", "typ": "at+jwt"}',
        b'{"alg": "ES256", "kid": "ec-1", "typ": "at+jwt", "cty": "JWT"}',
        b'{"alg": "ES256", "kid": "ec-1", "typ": "at+jwt", "zip": "DEF"}',
    ],
    ids=["duplicate-alg", "array", "no-alg", "alg-list", "nested-cty", "zip"],
)
def test_malformed_header_rejected(header: bytes) -> None:
    reject(forge(header, claims(), "ES256", EC_KEY))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".",
        lambda t: t + ".e30.",
        lambda t: t.replace(".", "..", 1),
        lambda t: t.split(".", 1)[1],
        lambda t: t + "=",
        lambda t: t[:-1] + "+",
        lambda t: "é" + t,
        lambda t: " " + t,
    ],
    ids=["4-seg", "5-seg", "empty-seg", "2-seg", "padding", "std-b64", "non-ascii", "space"],
)
def test_malformed_compact_serialization_rejected(mangle: Any) -> None:
    reject(mangle(token()))


def test_pyjwt_rejects_what_we_reject_for_alg_none() -> None:
    """Peer check: PyJWT agrees an unsigned token is not a valid ES256 token."""
    unsigned = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(unsigned, EC_KEY.public_key(), algorithms=["ES256"], audience="api")
    reject(unsigned)


# --- the validated-header cache --------------------------------------------------------


def test_header_cache_never_skips_signature_or_claims() -> None:
    v, ring = verifier()
    good = token("ES256")
    v.verify_with(good, ring)  # its header segment is now cached
    head, _payload, sig = good.split(".")
    tampered = token("ES256", sub="someone-else").split(".")[1]
    with pytest.raises(InvalidCredentials, match="bad signature"):
        v.verify_with(f"{head}.{tampered}.{sig}", ring)
    expired = token("ES256", exp=NOW - 3600)
    assert expired.split(".")[0] == head  # same header segment, served from the cache
    with pytest.raises(InvalidCredentials):
        v.verify_with(expired, ring)


def test_header_cache_keyed_by_exact_segment() -> None:
    v, ring = verifier()
    v.verify_with(token("ES256"), ring)
    with pytest.raises(InvalidCredentials):
        v.verify_with(token("ES256", header={"jku": "https://evil.example/jwks"}), ring)
    with pytest.raises(InvalidCredentials):
        v.verify_with(token("ES256", header={"crit": ["exp"]}), ring)
