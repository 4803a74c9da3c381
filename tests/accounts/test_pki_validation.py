"""What may be registered: key ids, public keys pinned to an algorithm, certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from tests._pki_material import NOW, issue, make_ca, private_pem, public_pem

from authgate.accounts.pki import certificate_facts, validate_key_id, validate_public_key
from authgate.errors import InvalidRequest

CA = make_ca()
ED = ed25519.Ed25519PrivateKey.generate()
P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
RSA2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused on purpose


@pytest.mark.parametrize(
    ("key", "algorithm"), [(ED, "ed25519"), (P256, "ecdsa-p256-sha256"), (RSA2048, "rsa-sha256")]
)
def test_matching_keys_are_accepted_as_spki(key: object, algorithm: str) -> None:
    assert validate_public_key(public_pem(key), algorithm).encode() == public_pem(key)  # type: ignore[arg-type]


def test_pkcs1_rsa_public_key_is_normalised_to_spki() -> None:
    pkcs1 = RSA2048.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert validate_public_key(pkcs1, "rsa-sha256").encode() == public_pem(RSA2048)


@pytest.mark.parametrize(
    ("key", "algorithm", "message"),
    [
        (ED, "rsa-sha256", "not a rsa-sha256 key"),
        (RSA2048, "ed25519", "not a ed25519 key"),
        (P384, "ecdsa-p256-sha256", "not a ecdsa-p256-sha256 key"),  # wrong curve
        (P256, "ed25519", "not a ed25519 key"),
        (RSA1024, "rsa-sha256", "at least 2048 bits"),
        (ED, "hmac-sha256", "algorithm must be one of"),
        (ED, "none", "algorithm must be one of"),
    ],
)
def test_key_must_match_its_pinned_algorithm(key: object, algorithm: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        validate_public_key(public_pem(key), algorithm)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [ED, P256, RSA2048], ids=["ed25519", "p256", "rsa"])
def test_private_keys_are_refused_without_echoing_them(key: object) -> None:
    for pem in (
        private_pem(key),  # type: ignore[arg-type]
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
    ):
        with pytest.raises(InvalidRequest, match="private key") as info:
            validate_public_key(pem, "ed25519")
        assert pem.decode() not in info.value.description


def test_traditional_rsa_private_key_is_refused() -> None:
    pem = RSA2048.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    with pytest.raises(InvalidRequest, match="private key"):
        validate_public_key(pem, "rsa-sha256")


@pytest.mark.parametrize(
    "junk", [b"", b"hello", b"-----BEGIN PUBLIC KEY-----\nAAAA\n", b"x" * 9000]
)
def test_garbage_is_not_a_public_key(junk: bytes) -> None:
    with pytest.raises(InvalidRequest):
        validate_public_key(junk, "ed25519")


@pytest.mark.parametrize("key_id", ["my-key", "a", "urn:x:1", "k" * 200, "a/b+c=d@e"])
def test_key_ids(key_id: str) -> None:
    assert validate_key_id(key_id) == key_id


@pytest.mark.parametrize(
    "key_id", ["", "has space", 'q"uote', "back\\slash", "k" * 201, "é", "agp_x", "AGK_x"]
)
def test_bad_key_ids(key_id: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_key_id(key_id)


def test_certificate_facts_pem_and_der_agree() -> None:
    leaf = issue(CA, "client-1")
    pem, der = certificate_facts(leaf.cert_pem, now=NOW), certificate_facts(leaf.cert_der, now=NOW)
    assert pem == der
    assert pem.thumbprint_sha256 == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert pem.subject == "CN=client-1,O=authgate tests"


def test_certificate_refusals() -> None:
    leaf = issue(CA, "c")
    with pytest.raises(InvalidRequest, match="exactly one"):
        certificate_facts(leaf.cert_pem + CA.cert_pem, now=NOW)
    with pytest.raises(InvalidRequest, match="private key"):
        certificate_facts(leaf.key_pem + leaf.cert_pem, now=NOW)
    with pytest.raises(InvalidRequest, match="expired"):
        certificate_facts(leaf.cert_pem, now=leaf.cert.not_valid_after_utc + dt.timedelta(1))
    with pytest.raises(InvalidRequest, match="at least 2048"):
        certificate_facts(issue(CA, "weak", key=RSA1024).cert_pem, now=NOW)
    for junk in (b"", b"\x30\x03\x02\x01\x00", b"-----BEGIN CERTIFICATE-----\n!!\n"):
        with pytest.raises(InvalidRequest):
            certificate_facts(junk, now=NOW)


def test_not_yet_valid_certificate_may_be_registered() -> None:
    later = issue(CA, "later", not_before=NOW + dt.timedelta(days=1))
    assert certificate_facts(later.cert_pem, now=NOW).not_before > NOW


def test_only_rsa_ec_and_eddsa_certificate_keys_are_accepted() -> None:
    """An allow-list: DSA (deprecated) and key-agreement keys are refused by name."""
    import warnings

    from cryptography.hazmat.primitives.asymmetric import x25519

    from authgate.crypto.certificates import weak_key_reason

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography deprecates DSA
        from cryptography.hazmat.primitives.asymmetric import dsa

        dsa_key = dsa.generate_private_key(key_size=2048).public_key()
        assert (
            weak_key_reason(dsa_key) == "DSAPublicKey keys are not accepted (use RSA, EC or EdDSA)"
        )
    assert "not accepted" in (
        weak_key_reason(x25519.X25519PrivateKey.generate().public_key()) or ""
    )
    for good in (ED, P256, RSA2048):
        assert weak_key_reason(good.public_key()) is None
