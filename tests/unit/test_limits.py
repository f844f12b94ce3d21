"""The nesting limit: measured without recursion, on any JSON shape."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.limits import MAX_NESTING, depth_of, nesting_error

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
