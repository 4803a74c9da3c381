from datetime import timedelta

import pytest

from authgate.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("24h", 86400), ("30d", 2592000), ("0", 0)]
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "10", "1w", "-5m", "1.5h", "h", "5 m", "١٠s"])
def test_invalid_durations_have_clear_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


def test_format() -> None:
    assert format_duration(timedelta(days=30)) == "30d"
    assert format_duration(timedelta(seconds=90)) == "90s"


def test_durations_longer_than_a_hundred_years_are_refused() -> None:
    """Issue 8 item 12: ``999999999d`` overflowed the dates it was added to (a 500)."""
    assert parse_duration("36500d").days == 36500
    for bad in ("36501d", "999999999d", "999999999h"):
        with pytest.raises(ValueError, match="longer than 100 years"):
            parse_duration(bad)
