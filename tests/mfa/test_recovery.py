"""Recovery codes: format, entropy, normalisation, keyed digests only."""

from __future__ import annotations

import re

import pytest

from authgate.crypto.digest import Digester
from authgate.mfa.recovery import RecoveryCodes, normalize

DIGESTER = Digester(b"k" * 32)


def test_ten_distinct_codes_in_groups_of_five_base32_chars() -> None:
    codes = RecoveryCodes(DIGESTER).generate()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    # fresh randomness each time
    assert set(codes).isdisjoint(RecoveryCodes(DIGESTER).generate())


@pytest.mark.parametrize("typed", ["ABCDE-FGH23", "abcde fgh23", "abcdefgh23", " AbCdE-fGh23 "])
def test_case_dashes_and_spaces_are_normalised_before_digesting(typed: str) -> None:
    rc = RecoveryCodes(DIGESTER)
    assert normalize(typed) == "abcdefgh23"
    assert rc.digest(typed) == rc.digest("abcde-fgh23")


@pytest.mark.parametrize(
    "bad", ["", "abcde-fgh2", "abcde-fgh234", "abcde-fgh21", "abcdé-fgh23", "x" * 100, None, 7]
)
def test_malformed_codes_have_no_digest(bad: object) -> None:
    assert RecoveryCodes(DIGESTER).digest(bad) is None


def test_digest_is_keyed_and_purpose_separated() -> None:
    code = RecoveryCodes(DIGESTER).generate()[0]
    digest = RecoveryCodes(DIGESTER).digest(code)
    assert digest is not None and code.replace("-", "") not in digest
    assert digest != RecoveryCodes(Digester(b"j" * 32)).digest(code)
    assert digest != DIGESTER.digest(code.replace("-", ""))  # default purpose "key"
    assert digest == DIGESTER.digest(code.replace("-", ""), purpose="recovery")
