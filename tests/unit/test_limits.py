"""Limits on what callers send: the nesting limit, measured without recursion on any JSON shape,
and a reason that shows nothing."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from domain.field_paths import child_path
from domain.limits import (
    MAX_NESTING,
    depth_of,
    hidden_characters,
    identity_errors,
    nesting_error,
    readable,
    unstorable_text,
)
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


def kinds(text: str) -> list[str]:
    found = ["NUL character"] if "\x00" in text else []
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        found.append("not text (a lone surrogate: bytes that are not UTF-8?)")
    return found


def reference_unstorable(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [f"{path or 'body'}: {k}" for k in kinds(value)]
    if isinstance(value, dict):
        keys = [f"{child_path(path, '<key>')}: {k}" for key in value for k in kinds(key)]
        return keys + [
            e for k, v in value.items() for e in reference_unstorable(v, child_path(path, k))
        ]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in reference_unstorable(v, f"{path}[{i}]")]
    return []


with_unstorable = st.recursive(
    st.none() | st.integers() | st.text(alphabet="a\x00.\ud800\udfff", max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet="a\x00 .\udc80", max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(with_unstorable, st.sampled_from(["", "rows", "execution_config"]))
def test_unstorable_text_matches_the_recursive_definition(value: Any, path: str) -> None:
    assert unstorable_text(value, path) == reference_unstorable(value, path)


@given(depth=st.integers(0, 20_000), in_a_dict=st.booleans())
def test_unstorable_text_is_found_at_any_depth_without_recursion(
    depth: int, in_a_dict: bool
) -> None:
    value: Any = "a\x00"
    for _ in range(depth):
        value = {"a": value} if in_a_dict else [value]
    found = unstorable_text(value, "x")
    path = "x" + ("" if in_a_dict else "[0]" * depth) + (".a" * depth if in_a_dict else "")
    assert found == [f"{path}: NUL character"]


@given(st.text(max_size=20))
def test_hidden_characters_are_what_an_identity_may_not_hold(text: str) -> None:
    hidden = hidden_characters(text)
    refused = any("control, format" in e for e in identity_errors(text, "who"))
    assert bool(hidden) == refused
    assert hidden == list(dict.fromkeys(hidden))
    assert all(f"U+{ord(c):04X}" in hidden for c in text if unicodedata.category(c) == "Cf")
