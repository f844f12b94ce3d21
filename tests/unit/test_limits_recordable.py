"""What a refusal records of the text it was sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.limits import recordable_reason


@given(st.text(), st.integers(1, 50))
def test_what_a_refusal_records_says_where_a_character_could_not_be_kept(
    text: str, most: int
) -> None:
    """A NUL (or a lone surrogate) becomes '?': an edit of a sub-step named `%00` recorded
    the name as nothing at all."""
    kept = recordable_reason(text, most)
    assert "\x00" not in kept and len(kept) == min(len(text), most)
    kept.encode("utf-8")
    assert recordable_reason("\x00", 10) == "?"
