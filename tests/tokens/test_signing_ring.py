"""SigningKeyRing (sans-I/O): states from timestamps, JWKS contents, signing, pinning."""

from __future__ import annotations

import json

import jwt
import pytest
from joserfc.util import urlsafe_b64decode

from authgate.tokens.keys import KeyRing
from authgate.tokens.signing import (
    SIGNING_ALGORITHMS,
    NoSigningKey,
    SigningKey,
    SigningKeyRing,
    generate_signing_key,
    import_private_jwk,
    public_jwk,
)

T0 = 1_800_000_000.0


def make_key(
    alg: str,
    activated: float | None,
    retired: float | None = None,
    expires: float | None = None,
) -> SigningKey:
    private = generate_signing_key(alg)
    jwk = public_jwk(private, alg)
    return SigningKey(str(jwk["kid"]), alg, private, jwk, T0 - 10, activated, retired, expires)


def header(token: str) -> dict[str, object]:
    value: dict[str, object] = json.loads(urlsafe_b64decode(token.split(".")[0].encode()))
    return value


def test_state_follows_the_schedule() -> None:
    key = make_key("EdDSA", activated=T0 + 100, retired=T0 + 200, expires=T0 + 300)
    assert key.state(T0) == "next"
    assert key.state(T0 + 100) == "active"
    assert key.state(T0 + 199.9) == "active"
    assert key.state(T0 + 200) == "retired"
    assert key.is_published(T0) and key.is_published(T0 + 299)
    assert not key.is_published(T0 + 300)


def test_unscheduled_key_is_next_forever() -> None:
    key = make_key("EdDSA", activated=None)
    assert key.state(T0 + 10**9) == "next"


@pytest.mark.parametrize("alg", SIGNING_ALGORITHMS)
def test_public_jwk_has_thumbprint_kid_alg_use_and_no_private_members(alg: str) -> None:
    private = generate_signing_key(alg)
    jwk = public_jwk(private, alg)
    assert jwk["kid"] == private.thumbprint()
    assert jwk["alg"] == alg and jwk["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
    # the private JWK round-trips (what the store seals)
    again = import_private_jwk(private.as_dict(private=True))
    assert again.thumbprint() == private.thumbprint()


def test_import_private_jwk_refuses_public_keys() -> None:
    private = generate_signing_key("ES256")
    with pytest.raises(ValueError, match="private"):
        import_private_jwk(private.as_dict(private=False))


def test_generate_refuses_other_algorithms() -> None:
    with pytest.raises(ValueError):
        generate_signing_key("HS256")


def test_rotation_windows_select_the_signer_and_the_jwks() -> None:
    old = make_key("EdDSA", activated=T0 - 1000, retired=T0 + 100, expires=T0 + 3800)
    new = make_key("EdDSA", activated=T0 + 100)
    rsa = make_key("RS256", activated=T0 - 1000)
    ring = SigningKeyRing([new, rsa, old])

    # before the switch: old signs, new is published (next)
    assert ring.active("EdDSA", T0).kid == old.kid
    assert {k["kid"] for k in ring.jwks(T0)["keys"]} == {old.kid, new.kid, rsa.kid}
    # after the switch: new signs, old still published until it expires
    assert ring.active("EdDSA", T0 + 100).kid == new.kid
    assert {k["kid"] for k in ring.jwks(T0 + 3799)["keys"]} == {old.kid, new.kid, rsa.kid}
    # after expiry: old leaves the JWKS
    assert {k["kid"] for k in ring.jwks(T0 + 3800)["keys"]} == {new.kid, rsa.kid}
    assert ring.active("RS256", T0).kid == rsa.kid
    with pytest.raises(NoSigningKey):
        ring.active("ES256", T0)


def test_jwks_documents_are_copies() -> None:
    key = make_key("ES256", activated=T0)
    ring = SigningKeyRing([key])
    doc = ring.jwks(T0)
    doc["keys"][0]["kid"] = "tampered"
    assert ring.jwks(T0)["keys"][0]["kid"] == key.kid


@pytest.mark.parametrize("alg", SIGNING_ALGORITHMS)
def test_sign_header_and_pyjwt_verifies(alg: str) -> None:
    key = make_key(alg, activated=T0)
    ring = SigningKeyRing([key])
    token = ring.sign({"sub": "u1", "n": "é"}, algorithm=alg, now=T0)
    assert header(token) == {"alg": alg, "typ": "at+jwt", "kid": key.kid}
    pyjwk = jwt.PyJWK(dict(key.public_jwk))
    claims = jwt.decode(token, pyjwk.key, algorithms=[alg], options={"verify_aud": False})
    assert claims == {"sub": "u1", "n": "é"}


def test_sign_without_an_active_key_fails() -> None:
    ring = SigningKeyRing([make_key("EdDSA", activated=T0 + 10)])
    with pytest.raises(NoSigningKey):
        ring.sign({}, algorithm="EdDSA", now=T0)


def test_verification_keys_are_pinned_to_their_own_algorithm_and_cached() -> None:
    keys = [make_key(a, activated=T0) for a in SIGNING_ALGORITHMS]
    ring = SigningKeyRing(keys)
    vk = ring.verification_keys(T0)
    assert isinstance(vk, KeyRing) and len(vk) == 3
    for key in keys:
        assert key.kid in vk
        assert vk.select(key.kid, key.algorithm) is not None
        others = [a for a in SIGNING_ALGORITHMS if a != key.algorithm]
        assert all(vk.select(key.kid, other) is None for other in others)
    assert ring.verification_keys(T0) is vk  # same published set: built once


def test_repr_never_shows_private_material() -> None:
    key = make_key("EdDSA", activated=T0)
    d = str(key.private.as_dict(private=True)["d"])
    assert d not in repr(key) and d not in repr(SigningKeyRing([key]))


def test_eddsa_fast_path_is_byte_for_byte_joserfc() -> None:
    """The hand-rolled EdDSA compact JWS equals joserfc's (Ed25519 is deterministic)."""
    from joserfc.jws import serialize_compact

    from authgate.tokens.signing import _REGISTRY  # joserfc's own path, as for ES256/RS256

    key = make_key("EdDSA", T0 - 5)
    ring = SigningKeyRing([key])
    claims = {"sub": "ü", "n": 1, "l": [1, "two"]}
    for typ in ("at+jwt", "JWT", "at+jwt"):  # the header segment is cached per typ
        token = ring.sign(claims, algorithm="EdDSA", now=T0, typ=typ)
        expected = serialize_compact(
            {"alg": "EdDSA", "typ": typ, "kid": key.kid},
            json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode(),
            key.private,
            registry=_REGISTRY,
        )
        assert token == expected
