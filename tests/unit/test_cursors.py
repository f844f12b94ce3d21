"""Cursors of a batch's job pages: every cursor the API gives out is read back as given, and any
other text is refused, whatever it holds."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from projections.job_pages import cursor_of, position_of


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_a_cursor_given_out_is_read_back(created: datetime, job_id: UUID) -> None:
    assert position_of(cursor_of(created.isoformat(), str(job_id))) == (
        created.isoformat(),
        str(job_id),
    )


@given(st.text(max_size=60))
def test_any_other_text_is_refused(text: str) -> None:
    for cursor in (text, encoded(text)):
        try:
            moment, job_id = position_of(cursor)
        except InvalidInput:
            continue
        assert datetime.fromisoformat(moment).tzinfo is not None
        assert str(UUID(job_id)) == job_id


@pytest.mark.parametrize(
    "forged",
    [
        "notadate|x",
        "9999-12-31T23:59:59.999999+00:00|zzz",
        "2026-12-05T06:25:54+99:00|a",
        "0001-01-01T00:00:00-23:59|a",
        "2026-12-05T06:25:54|6b11ce4b-9e40-4fa1-9430-3e1090209c84",
        "2026-12-05T06:25:54+00:00|6B11CE4B-9E40-4FA1-9430-3E1090209C84",
        "2026-12-05T06:25:54+00:00|6b11ce4b-9e40-4fa1-9430-3e1090209c84|x",
    ],
)
def test_forged_cursors_are_refused(forged: str) -> None:
    with pytest.raises(InvalidInput):
        position_of(encoded(forged))
