"""A time or a version written as text is read one way by the API (`?at=`, `?version=`) and by
the CLI (`--at`, `--version`): whatever the text, both take it as the same value or both refuse
it (the CLI took ISO basic format and week dates the API refused, the API took a Unix time and
`1.0` the CLI refused)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.cli.audit import iso_time
from api.cli.values import version_number
from api.schemas import StateQuery
from domain.written_values import LARGEST_STORED, moment_of

WRITTEN = [
    "2026-12-05T07:05:23Z",
    "20261205T070523Z",
    "2026-W49-6",
    "2026-12-05 07:05:23.123456+13:00",
    "2026-12-05",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59.999999-23:59",
    "1796454000",
    "1.0",
    "+1",
    "1_000",
    " 1",
    "",
    "now",
    "١٢٣",
    str(LARGEST_STORED),
    str(LARGEST_STORED + 1),
    "0",
]


def by_cli(read: Any, text: str) -> Any:
    try:
        return read(text)
    except argparse.ArgumentTypeError:
        return None


def by_api(field: str, text: str) -> Any:
    try:
        return getattr(StateQuery.model_validate({field: text}), field)
    except ValidationError:
        return None


def agree(text: str) -> None:
    assert by_cli(iso_time, text) == by_api("at", text), text
    assert by_cli(version_number, text) == by_api("version", text), text


@pytest.mark.parametrize("text", WRITTEN)
def test_the_api_and_the_cli_read_these_alike(text: str) -> None:
    agree(text)


@given(st.text(max_size=40))
def test_any_text_is_read_alike(text: str) -> None:
    agree(text)


# Offsets to the second (ISO 8601 writes them to the minute): Python reads an offset of a
# fraction of a second alone (`+00:00:00.000001`) as UTC, an instant no one writes.
OFFSETS = st.integers(-23 * 3600, 23 * 3600).map(lambda s: timezone(timedelta(seconds=s)))


@given(st.datetimes(timezones=st.just(UTC) | OFFSETS), st.sampled_from(["T", " "]))
def test_any_time_written_out_is_read_alike(moment: datetime, separator: str) -> None:
    agree(moment.isoformat(sep=separator))
    assert by_api("at", moment.isoformat()) == moment


@given(st.integers(min_value=-(2**64), max_value=2**64))
def test_any_number_written_out_is_read_alike(number: int) -> None:
    agree(str(number))
    expected = number if 1 <= number <= LARGEST_STORED else None
    assert by_api("version", str(number)) == expected


@given(st.text(max_size=30))
def test_a_time_refused_is_said_in_regflows_words_not_pythons(text: str) -> None:
    """`?at=...+99:00` answered `offset must be a timedelta ... datetime.timedelta(days=4, ...)`."""
    try:
        moment_of(text)
    except ValueError as exc:
        assert str(exc).startswith("not an ISO 8601 time") and "timedelta" not in str(exc)


def test_an_offset_beyond_a_day_is_refused_in_regflows_words() -> None:
    with pytest.raises(ValueError, match="^not an ISO 8601 time"):
        moment_of("2026-01-01T00:00:00+99:00")
