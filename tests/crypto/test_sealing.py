import os

import pytest

from authgate.crypto.sealing import MasterKeyRing, SealError


def ring(**keys: bytes) -> MasterKeyRing:
    return MasterKeyRing(keys, active=list(keys)[-1])


def test_seal_roundtrip_and_not_plaintext() -> None:
    r = ring(k1=os.urandom(32))
    sealed = r.seal("ags_supersecret", aad="cred1")
    assert "supersecret" not in sealed and sealed.startswith("v1.k1.")
    assert r.unseal(sealed, aad="cred1") == "ags_supersecret"


def test_sealed_value_bound_to_record() -> None:
    r = ring(k1=os.urandom(32))
    with pytest.raises(SealError):
        r.unseal(r.seal("s", aad="cred1"), aad="cred2")


def test_tampered_value_rejected() -> None:
    r = ring(k1=os.urandom(32))
    sealed = r.seal("secret", aad="a")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealError):
        r.unseal(flipped, aad="a")


def test_rotation_old_values_still_open_new_values_use_new_key() -> None:
    k1 = os.urandom(32)
    old = ring(k1=k1)
    sealed_old = old.seal("old-secret", aad="a")
    new = MasterKeyRing({"k1": k1, "k2": os.urandom(32)}, active="k2")
    assert new.unseal(sealed_old, aad="a") == "old-secret"
    sealed_new = new.seal("new-secret", aad="b")
    assert sealed_new.startswith("v1.k2.")
    with pytest.raises(SealError):
        old.unseal(sealed_new, aad="b")


@pytest.mark.parametrize("garbage", ["", "v1", "v2.k1.abc", "v1.k1.!!!", "v1.k1."])
def test_garbage_sealed_values_raise_seal_error(garbage: str) -> None:
    with pytest.raises(SealError):
        ring(k1=os.urandom(32)).unseal(garbage, aad="a")


def test_master_keys_must_be_256_bit() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKeyRing({"k": b"short"}, active="k")
