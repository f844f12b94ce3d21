"""REGFLOW_API_RATE_PER_S is taken from one call an hour to MOST_RATE_PER_S calls a second; any
other number (0, negative, NaN, infinite, a typo's 1e-9) stops a command at once, in one line."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.cli import main
from infrastructure.settings import LEAST_RATE_PER_S, MOST_RATE_PER_S, Settings

SAID = "REGFLOW_API_RATE_PER_S: calls started per second, from 1/3600 (one call an hour) to 10000"


def in_range(rate: float) -> bool:
    return LEAST_RATE_PER_S <= rate <= MOST_RATE_PER_S


@given(st.floats(min_value=LEAST_RATE_PER_S, max_value=MOST_RATE_PER_S))
@example(LEAST_RATE_PER_S)
@example(MOST_RATE_PER_S)
def test_a_rate_within_the_range_is_taken_as_written(rate: float) -> None:
    assert Settings(_env_file=None, api_rate_per_s=repr(rate)).api_rate_per_s == rate


@given(st.floats().filter(lambda r: not in_range(r)))
@example(1e-9)
@example(1e-300)
@example(0.0)
@example(-1.0)
@example(math.nan)
@example(math.inf)
@example(math.nextafter(LEAST_RATE_PER_S, 0))
@example(math.nextafter(MOST_RATE_PER_S, math.inf))
def test_a_rate_outside_the_range_is_refused_naming_the_range(rate: float) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, api_rate_per_s=repr(rate))
    assert SAID in str(refused.value)


@pytest.mark.parametrize("value", ["1e-9", "0", "-2", "nan", "inf", "1e-300", "1e9"])
def test_a_command_stops_with_one_line_naming_the_range(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGFLOW_API_RATE_PER_S", value)
    assert main(["batches", "--all"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: the configuration is not valid:",
        f"  - {SAID}; leave it unset for no rate limit",
    ]
