"""A stored aggregate's events read in order go by one from the first asked for; any gap, at
the start or between two, is said as the versions found and expected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.event_store import VersionsSkipped, check_versions


@given(first=st.integers(1, 10_000), count=st.integers(0, 200), desc=st.booleans())
def test_versions_that_go_by_one_pass(first: int, count: int, desc: bool) -> None:
    versions = list(range(first, first + count))
    if desc:
        check_versions("a", versions[::-1], None, desc=True)
    else:
        check_versions("a", versions, first, desc=False)


@given(
    versions=st.lists(st.integers(1, 60), min_size=1, max_size=40, unique=True).map(sorted),
    gt=st.integers(0, 5),
    desc=st.booleans(),
)
def test_any_gap_is_found_where_it_is(versions: list[int], gt: int, desc: bool) -> None:
    """The i-th version read must be the first expected plus (or, read down, minus) i."""
    read = versions[::-1] if desc else versions
    start, step = (read[0], -1) if desc else (gt + 1, 1)
    gaps = [(v, start + step * i) for i, v in enumerate(read) if v != start + step * i]
    gap = gaps[0] if gaps else None
    if gap is None:
        check_versions("a", read, None if desc else gt + 1, desc)
        return
    with pytest.raises(VersionsSkipped) as raised:
        check_versions("a", read, None if desc else gt + 1, desc)
    assert (raised.value.found, raised.value.expected) == gap
    assert f"version {gap[0]} is stored where version {gap[1]} should be" in str(raised.value)
