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
