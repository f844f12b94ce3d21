"""Limits on what callers send: the nesting limit, measured without recursion on any JSON shape,
and a reason that shows nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING, depth_of, nesting_error, readable
from tests.unit.jobs import given as given_job
from tests.unit.jobs import new_job, refused, then

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


def reference_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(reference_depth, value), default=0)
    return 0


@given(json_values)
def test_depth_matches_the_recursive_definition(value: Any) -> None:
    assert depth_of(value) == reference_depth(value)


def test_a_deep_value_is_measured_without_recursion_and_named() -> None:
    value: Any = 1
    for _ in range(100_000):
        value = [value]
    assert depth_of(value, MAX_NESTING) == MAX_NESTING + 1
    assert nesting_error(value, "execution_config") == (
        f"execution_config: nested deeper than {MAX_NESTING} levels"
    )


def test_the_limit_itself_is_allowed() -> None:
    value: Any = {}
    for _ in range(MAX_NESTING - 1):
        value = {"x": value}
    assert depth_of(value) == MAX_NESTING and nesting_error(value, "x") is None


INVISIBLE = st.text(
    st.characters(categories=["Zs", "Cf", "Mn", "Me", "Cc", "Zl", "Zp"], exclude_characters="\x00"),
    min_size=1,
    max_size=12,
)


@given(INVISIBLE)
def test_a_reason_that_shows_nothing_is_no_reason(shown_as_nothing: str) -> None:
    """Spaces, zero-width and bidi-control characters and lone combining marks render as
    nothing: an audit entry with such a reason would have no reason to read."""
    job = given_job(new_job())
    refused(
        job,
        lambda: job.edit([("cloudwaitressAccount", "skipped", None)], "user:u-1", shown_as_nothing),
        InvalidInput,
    )


@given(INVISIBLE, st.characters(categories=["L", "N", "P", "S"]), INVISIBLE)
def test_one_readable_character_makes_a_reason(before: str, shown: str, after: str) -> None:
    assert readable(before + shown + after)
    job = given_job(new_job())
    job.edit([("cloudwaitressAccount", "skipped", None)], "user:u-1", before + shown + after)
    assert then(job)[0] == "ManualStatusSet"
