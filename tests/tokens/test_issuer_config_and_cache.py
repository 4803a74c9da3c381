"""IssuerConfig validation, key policy at import, and the verified-token cache."""

from __future__ import annotations

import base64
import json
from typing import Any

import pydantic
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from authgate.identity import Identity
from authgate.tokens import IssuerConfig, KeyPolicyError, KeyRing, VerifiedTokenCache
from authgate.tokens.keys import import_jwk


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_jwk(kid: str = "e1", **extra: Any) -> dict[str, Any]:
    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    return json.loads(ECAlgorithm.to_jwk(pub)) | {"kid": kid} | extra


def cfg(**fields: Any) -> IssuerConfig:
    base: dict[str, Any] = {"issuer": "https://i", "audiences": ["a"], "jwks": {"keys": [ec_jwk()]}}
    base.update(fields)
    return IssuerConfig(**base)


def test_defaults() -> None:
    c = cfg()
    assert c.algorithms == ("RS256", "ES256", "EdDSA")
    assert (c.leeway, c.jwks_refresh_interval, c.require_at_jwt) == (30, 60.0, True)
    assert c.required_claims == ("exp", "iat", "iss", "sub")
    assert c.subject_claim == "sub" and c.roles_claim is None


@pytest.mark.parametrize(
    "fields",
    [
        {"algorithms": []},
        {"algorithms": ["none"]},
        {"algorithms": ["NONE"]},
        {"algorithms": ["HS1"]},
        {"audiences": []},
        {"issuer": ""},
        {"jwks_url": "https://i/jwks"},  # together with jwks
        {"jwks": None, "jwks_url": "file:///etc/passwd"},
        {"leeway": -1},
        {"unknown_field": 1},
        {"jwks_min_ttl": 100, "jwks_max_ttl": 10},
        {"jwks": {"keys": [ec_jwk(use="enc")]}},
        {"jwks": {"keys": [ec_jwk(alg="ES521")]}},
        {"jwks": {"keys": [ec_jwk(alg="RS256")]}},
        {"jwks": {"keys": [ec_jwk("same"), ec_jwk("same")]}},
        {"jwks": {"keys": []}},
        {"jwks": {"keys": "x"}},
        {"public_key_pem": "not a pem", "jwks": None},
    ],
    ids=repr,
)
def test_invalid_config_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        cfg(**fields)


def test_mixed_symmetric_and_asymmetric_keyset_refused() -> None:
    oct_key = {"kty": "oct", "kid": "h", "k": b64(bytes(32))}
    with pytest.raises(pydantic.ValidationError, match="mix"):
        cfg(jwks={"keys": [oct_key, ec_jwk()]}, algorithms=["HS256", "ES256"])


def test_weak_rsa_keys_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    with pytest.raises(KeyPolicyError, match="2048"):  # refused before joserfc warns
        import_jwk(
            json.loads(RSAAlgorithm.to_jwk(small)), frozenset({"RS256"}), allow_symmetric=False
        )
    pem = small.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(pydantic.ValidationError, match="2048"):
        cfg(jwks=None, public_key_pem=pem.decode())


def test_remote_style_import_never_yields_oct_keys() -> None:
    with pytest.raises(KeyPolicyError, match="static"):
        import_jwk({"kty": "oct", "k": b64(bytes(64))}, frozenset({"HS256"}), allow_symmetric=False)


def test_private_members_are_ignored() -> None:
    priv = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(priv)) | {"kid": "p"}
    assert "d" in jwk
    ring = KeyRing.from_jwks({"keys": [jwk]}, frozenset({"ES256"}), strict=True)
    assert ring.keys[0].key.is_private is False


# --- verified-token cache ------------------------------------------------------------

IDENT = Identity(subject="s", principal_id="p", scheme="bearer")


def test_cache_entry_lives_until_min_of_exp_and_ttl() -> None:
    cache = VerifiedTokenCache(ttl=60)
    cache.put("t1", IDENT, now=1000, exp=1030, nbf=None, leeway=0)
    assert cache.get("t1", 1029.9) is IDENT
    assert cache.get("t1", 1030) is None
    cache.put("t2", IDENT, now=1000, exp=5000, nbf=None, leeway=0)
    assert cache.get("t2", 1059) is IDENT
    assert cache.get("t2", 1060) is None


def test_cache_rechecks_nbf_against_clock() -> None:
    cache = VerifiedTokenCache(ttl=60)
    cache.put("t", IDENT, now=1000, exp=2000, nbf=995, leeway=5)
    assert cache.get("t", 1001) is IDENT
    assert cache.get("t", 980) is None  # clock stepped back before nbf - leeway


def test_cache_is_bounded_oldest_first() -> None:
    # one eviction rule for every local cache (authgate.kv.ttl_cache, decision 0008):
    # the oldest put goes first; a hit does not reorder, a put again does
    cache = VerifiedTokenCache(max_entries=3, ttl=60)
    for i in range(3):
        cache.put(f"t{i}", IDENT, now=0, exp=None, nbf=None, leeway=0)
    assert cache.get("t0", 1) is IDENT
    cache.put("t1", IDENT, now=0, exp=None, nbf=None, leeway=0)  # t1 becomes the newest
    cache.put("t3", IDENT, now=0, exp=None, nbf=None, leeway=0)
    assert len(cache) == 3
    assert cache.get("t0", 1) is None
    assert cache.get("t1", 1) is IDENT
    assert cache.get("t2", 1) is IDENT


def test_cache_keys_are_digests_not_tokens() -> None:
    cache = VerifiedTokenCache()
    cache.put("secret.token.value", IDENT, now=0, exp=None, nbf=None, leeway=0)
    assert all(isinstance(k, bytes) and len(k) == 32 for k in cache._entries)
    assert b"secret" not in b"".join(cache._entries)


def test_already_expired_token_not_cached() -> None:
    cache = VerifiedTokenCache()
    cache.put("t", IDENT, now=100, exp=90, nbf=None, leeway=5)
    assert len(cache) == 0
