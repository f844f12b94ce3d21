"""Every error names the field it is about in one form, whichever check found it: names joined
by dots and positions in a list in brackets (`restaurants[2].execution_config.skip[0]`)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.errors import field_errors
from api.parsing import decoded_body
from api.schemas.requests import CreateBatch
from domain.exceptions import InvalidInput
from domain.field_paths import field_path
from infrastructure.usecases.batches import validated_restaurants
from tests.kit import restaurant

NAMES = st.text(st.characters(exclude_characters=".[]:\x00", codec="utf-8"), min_size=1)
PARTS = st.lists(st.one_of(NAMES, st.integers(0, 10_000)), max_size=8).filter(
    lambda parts: not parts or isinstance(parts[0], str)
)


def parts_of(path: str) -> list[str | int]:
    """A path read back into its names and positions."""
    return [
        int(position) if position else name
        for name, position in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)
    ]


@given(PARTS)
def test_a_path_reads_back_as_its_parts(parts: list[str | int]) -> None:
    assert parts_of(field_path(parts)) == parts


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(st.characters(codec="utf-8", exclude_characters="\x00")),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=12,
)


@st.composite
def with_nul_at(draw: st.DrawFn) -> tuple[dict[str, Any], list[str | int]]:
    """A batch body with a NUL in one string, somewhere in its restaurants, and where."""
    count = draw(st.integers(1, 4))
    restaurants = [restaurant(f"R{i}") for i in range(count)]
    index = draw(st.integers(0, count - 1))
    where: list[str | int] = ["restaurants", index]
    holder = restaurants[index]
    for key in draw(st.lists(NAMES, max_size=3)):
        below = holder.get(key)
        holder[key] = below = below if isinstance(below, dict) else {}
        holder, where = below, [*where, key]
    key = draw(NAMES)
    if draw(st.booleans()):
        items = draw(st.lists(JSON, max_size=2))
        position = draw(st.integers(0, len(items)))
        holder[key] = [*items[:position], "a\x00b", *items[position:]]
        where += [key, position]
    else:
        holder[key] = "a\x00b"
        where.append(key)
    return {"name": "batch", "restaurants": restaurants}, where


@settings(max_examples=300)
@given(with_nul_at())
def test_a_nul_is_named_where_it_is(case: tuple[dict[str, Any], list[str | int]]) -> None:
    body, where = case
    with pytest.raises(InvalidInput) as refused:
        decoded_body(json.dumps(body).encode(), CreateBatch)
    assert refused.value.errors == [f"{field_path(where)}: NUL character"]


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"external_id": 17}, "restaurants[2].external_id"),
        ({"execution_config": None}, "restaurants[2].execution_config"),
        ({"name": ["a"]}, "restaurants[2].name"),
    ],
)
def test_a_field_the_request_model_refuses_is_named_by_its_position(
    bad: dict[str, Any], named: str
) -> None:
    restaurants = [restaurant(f"R{i}") for i in range(3)]
    restaurants[2] |= bad
    with pytest.raises(ValidationError) as refused:
        CreateBatch.model_validate({"name": "batch", "restaurants": restaurants})
    assert [error.split(":")[0] for error in field_errors(refused.value)] == [named]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"skip": ["menuImport", "nothing"]}, "restaurants[1].execution_config.skip"),
        ({"payment": {"enabled": "maybe"}}, "restaurants[1].execution_config.payment.enabled"),
        ({"account": {"email": "not an email"}}, "restaurants[1].execution_config.account.email"),
    ],
)
def test_a_config_field_the_checks_refuse_is_named_by_its_position(
    config: dict[str, Any], named: str
) -> None:
    restaurants = [restaurant("R0"), {"name": "R1", "execution_config": config}]
    with pytest.raises(InvalidInput) as refused:
        validated_restaurants(restaurants, None)
    located = [error.split(": ")[0] for error in refused.value.errors]
    assert located[0].startswith(named), refused.value.errors
    assert all(not re.search(r"\.\d+(\.|$)", path) for path in located), located
