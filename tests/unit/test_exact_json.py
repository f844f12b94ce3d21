"""JSON read and written by regflow's own code keeps every value it was given: integers beyond
64 bits (which orjson writes not at all and reads as floats), lone surrogates, any nesting."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from infrastructure.exact_json import dumps, loads

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(VALUES)
def test_what_is_written_is_read_back_as_it_was(value: Any) -> None:
    assert loads(dumps(value)) == value
    assert loads(dumps(value).decode()) == value


@given(st.integers(min_value=2**63, max_value=2**400), st.sampled_from([1, -1]))
def test_integers_beyond_64_bits_are_read_as_integers(size: int, sign: int) -> None:
    assert loads(f'{{"n": {sign * size}}}') == {"n": sign * size}
