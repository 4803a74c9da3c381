import pytest

from authgate.crypto.passwords import (
    PasswordHasher,
    PasswordPolicyError,
    generate_password,
    validate_password,
)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


def test_argon2id_parameters_meet_asvs(hasher: PasswordHasher) -> None:
    h = hasher.hash("a long enough password")
    assert h.startswith("$argon2id$")
    params = dict(p.split("=") for p in h.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2
    assert int(params["p"]) == 1


def test_parameters_below_asvs_refused() -> None:
    with pytest.raises(ValueError, match="ASVS"):
        PasswordHasher(time_cost=1)
    with pytest.raises(ValueError, match="ASVS"):
        PasswordHasher(memory_kib=4096)


def test_verify(hasher: PasswordHasher) -> None:
    h = hasher.hash("correct horse battery")
    assert hasher.verify(h, "correct horse battery")
    assert not hasher.verify(h, "correct horse batterY")
    assert not hasher.verify(None, "anything")
    assert not hasher.verify("not-a-hash", "anything")


def test_no_truncation_at_72_bytes(hasher: PasswordHasher) -> None:
    base = "x" * 72
    h = hasher.hash(base + "A")
    assert hasher.verify(h, base + "A")
    assert not hasher.verify(h, base + "B")


def test_long_and_unicode_passwords(hasher: PasswordHasher) -> None:
    pw = "pässwörd-ünïcode-" + "長" * 70
    assert len(pw) >= 64
    assert hasher.verify(hasher.hash(pw), pw)


def test_rehash_needed_when_parameters_rise() -> None:
    weak = PasswordHasher(time_cost=2, memory_kib=19 * 1024)
    strong = PasswordHasher(time_cost=3, memory_kib=32 * 1024)
    assert strong.needs_rehash(weak.hash("some password"))
    assert not strong.needs_rehash(strong.hash("some password"))


@pytest.mark.parametrize("pw", ["short", "1234567", "password", "Password1", "qwerty123"])
def test_policy_rejects_short_and_common(pw: str) -> None:
    with pytest.raises(PasswordPolicyError):
        validate_password(pw)


def test_policy_has_no_composition_rules_and_caps_length() -> None:
    validate_password("all lowercase words here")
    validate_password("x" * 1024)
    with pytest.raises(PasswordPolicyError):
        validate_password("x" * 1025)


def test_generated_passwords_pass_policy() -> None:
    validate_password(generate_password())
