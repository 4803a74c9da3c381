import math
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authgate.crypto.keys import (
    API_KEY_PREFIX,
    KEY_LENGTH,
    KEY_PAIR_KEY_PREFIX,
    display_prefix,
    generate_key,
    is_well_formed,
)


def test_generated_key_is_well_formed_and_has_enough_entropy() -> None:
    key = generate_key(API_KEY_PREFIX)
    assert key.startswith("agk_") and len(key) == KEY_LENGTH
    assert is_well_formed(key, API_KEY_PREFIX)
    random_chars = KEY_LENGTH - len(API_KEY_PREFIX) - 6  # minus the checksum
    assert random_chars * math.log2(62) >= 160
    assert len({generate_key(API_KEY_PREFIX) for _ in range(200)}) == 200


def test_key_alphabet_is_base62() -> None:
    key = generate_key(KEY_PAIR_KEY_PREFIX)
    assert set(key[4:]) <= set(string.ascii_letters + string.digits)


def test_checksum_rejects_every_single_character_change() -> None:
    key = generate_key(API_KEY_PREFIX)
    for i in range(4, len(key)):
        for c in "0aZ":
            if key[i] != c:
                assert not is_well_formed(key[:i] + c + key[i + 1 :], API_KEY_PREFIX)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "agk_",
        "agk_short",
        "x" * KEY_LENGTH,
        "agk_" + "é" * (KEY_LENGTH - 4),
        "agk_" + "\0" * 44,
    ],
)
def test_malformed_keys_rejected(bad: str) -> None:
    assert not is_well_formed(bad, API_KEY_PREFIX)


def test_wrong_prefix_rejected() -> None:
    assert not is_well_formed(generate_key(KEY_PAIR_KEY_PREFIX), API_KEY_PREFIX)


def test_display_prefix_is_public_part_only() -> None:
    key = generate_key(API_KEY_PREFIX)
    assert display_prefix(key) == key[:12]


@given(st.text(max_size=80))
def test_well_formedness_never_raises(value: str) -> None:
    assert is_well_formed(value, API_KEY_PREFIX) in (True, False)
