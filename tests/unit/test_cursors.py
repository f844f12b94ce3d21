"""Cursors of a batch's job pages: every cursor given out is read back on the listing it was given
out for, and nothing else is: no other text, no changed byte, no other listing, no other key."""

from __future__ import annotations

import base64
import string
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.errors import BadRequest
from api.page_cursors import REFUSED, JobListing, PageCursors
from projections.pages import PagePosition

KEY = bytes(range(32))
CURSORS = PageCursors(KEY)
LISTING = JobListing("d4750cb1-8048-4e11-b36c-0c8e278f9371", "failed", "diner")
POSITION = PagePosition("2026-12-05T06:25:54.123456+00:00", "6b11ce4b-9e40-4fa1-9430-3e1090209c84")
GENUINE = CURSORS.cursor(LISTING, POSITION) or ""

positions = st.builds(
    PagePosition, st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat), st.uuids().map(str)
)
listings = st.builds(
    JobListing,
    st.uuids().map(str),
    st.sampled_from([None, "pending", "failed", "blocked"]),
    st.none() | st.text(max_size=12),
)


def refused(listing: JobListing, cursor: str, cursors: PageCursors = CURSORS) -> bool:
    with pytest.raises(BadRequest) as refusal:
        cursors.position(listing, cursor)
    return refusal.value.errors == [REFUSED]


@given(listings, positions)
def test_a_cursor_given_out_is_read_back_on_its_listing(
    listing: JobListing, position: PagePosition
) -> None:
    cursor = CURSORS.cursor(listing, position)
    assert cursor is not None and CURSORS.position(listing, cursor) == position


@given(st.text(max_size=120))
def test_any_other_text_is_refused(text: str) -> None:
    assert text == GENUINE or refused(LISTING, text)


@given(st.data())
def test_a_cursor_with_any_byte_changed_is_refused(data: st.DataObject) -> None:
    raw = bytearray(base64.urlsafe_b64decode(GENUINE + "=" * (-len(GENUINE) % 4)))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cursor = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert cursor == GENUINE or refused(LISTING, cursor)


@given(st.data())
def test_a_cursor_with_any_character_changed_cut_or_added_is_refused(data: st.DataObject) -> None:
    chars = list(GENUINE)
    at = data.draw(st.integers(0, len(chars)))
    kind = data.draw(st.sampled_from(["change", "cut", "add"]))
    new = data.draw(st.sampled_from(string.ascii_letters + string.digits + "-_=+/. %\u00e9"))
    if kind == "cut":
        del chars[at : at + data.draw(st.integers(1, 8))]
    else:
        chars[at : at + (kind == "change")] = [new]
    cursor = "".join(chars)
    assert cursor == GENUINE or refused(LISTING, cursor)


def respellings(cursor: str) -> list[str]:
    """Other texts that a lenient base64 reader reads as the same bytes as `cursor`."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet.index(cursor[-1])  # 86 characters carry 512 bits: the last has 4 spare
    others = [alphabet[last ^ spare] for spare in (1, 2, 4, 8)]
    same = [cursor[:-1] + c for c in others]
    return [*same, cursor + "==", cursor[:9] + "\n" + cursor[9:], cursor.replace("-", "+")]


@pytest.mark.parametrize("spelling", respellings(GENUINE), ids=range(7))
def test_another_spelling_of_a_cursor_is_refused(spelling: str) -> None:
    assert base64.urlsafe_b64decode(spelling + "==") == base64.urlsafe_b64decode(GENUINE + "==")
    assert spelling == GENUINE or refused(LISTING, spelling)


@pytest.mark.parametrize(
    "other",
    [
        JobListing(str(uuid4()), "failed", "diner"),
        JobListing(LISTING.batch_id, None, "diner"),
        JobListing(LISTING.batch_id, "blocked", "diner"),
        JobListing(LISTING.batch_id, "failed", None),
        JobListing(LISTING.batch_id, "failed", "dine"),
    ],
    ids=["batch", "no status", "status", "no search", "search"],
)
def test_a_cursor_of_another_listing_is_refused(other: JobListing) -> None:
    assert refused(other, GENUINE)


def test_a_search_spelt_as_the_query_reads_it_is_the_same_listing() -> None:
    same = JobListing(LISTING.batch_id, "failed", "  DINER ")
    assert CURSORS.position(same, GENUINE) == POSITION


def test_a_search_however_unicode_writes_it_is_the_same_listing() -> None:
    composed = JobListing(LISTING.batch_id, "failed", "Caf\u00e9")
    cursor = CURSORS.cursor(composed, POSITION)
    decomposed = JobListing(LISTING.batch_id, "failed", "Cafe\u0301")
    assert CURSORS.position(decomposed, cursor) == POSITION


def test_a_search_of_blanks_alone_is_not_the_listing_without_a_search() -> None:
    blanks = JobListing(LISTING.batch_id, "failed", "   ")
    assert refused(blanks, CURSORS.cursor(JobListing(LISTING.batch_id, "failed"), POSITION))


def test_a_cursor_sealed_with_another_key_is_refused() -> None:
    assert refused(LISTING, GENUINE, PageCursors(bytes(32)))


def test_a_hand_made_cursor_is_refused() -> None:
    made = f"1999-01-01T00:00:00+00:00|{UUID(int=0)}"
    assert refused(LISTING, base64.b64encode(made.encode()).decode())


def test_a_cursor_is_short_and_url_safe() -> None:
    assert len(GENUINE) <= 90
    assert set(GENUINE) <= set(string.ascii_letters + string.digits + "-_")
