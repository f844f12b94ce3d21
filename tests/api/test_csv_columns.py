"""A CSV's header says plainly what each column names: blanks around a title or a path's dots
are trimmed, and a config field given twice (by two columns, or by a dotted column and the
`execution_config` JSON cell) is refused naming the columns, never settled by one winning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from api.uploads import from_csv
from domain.exceptions import InvalidInput
from tests.api.conftest import BASE, Caller
from tests.api.test_batch_uploads import CSV, batch_count, csv_text

KEYS = st.from_regex(r"[a-z][a-z_]{0,5}", fullmatch=True)
PATHS = st.lists(KEYS, min_size=2, max_size=3)
BLANKS = st.sampled_from(["", " ", "  "])  # a tab would be taken for the separator
PREFIXED = st.booleans()


def column(path: list[str], prefixed: bool) -> str:
    return ".".join(["execution_config", *path] if prefixed else path)


def nested(path: list[str], value: Any) -> dict[str, Any]:
    for part in reversed(path):
        value = {part: value}
    return dict(value)


def refusal(header: list[str], row: list[str]) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        from_csv(csv_text(header, [row]).encode())
    return refused.value.errors


@given(paths=st.lists(PATHS, min_size=1, max_size=4, unique_by=tuple), data=st.data())
def test_blanks_around_a_title_and_its_dots_are_trimmed(
    paths: list[list[str]], data: st.DataObject
) -> None:
    assume(not any(p[: len(q)] == q for p in paths for q in paths if p is not q))
    clean = ["name", *(".".join(p) for p in paths)]
    padded = [data.draw(BLANKS) + "name" + data.draw(BLANKS)]
    for path in paths:
        parts = (data.draw(BLANKS) + part + data.draw(BLANKS) for part in path)
        padded.append(".".join(parts))
    cells = ["Buzz", *(f"v{i}" for i in range(len(paths)))]
    assert from_csv(csv_text(padded, [cells]).encode()) == from_csv(
        csv_text(clean, [cells]).encode()
    )


@given(path=PATHS, inside=st.lists(KEYS, max_size=2), prefixed=PREFIXED, value=KEYS)
def test_a_field_given_by_a_column_and_the_json_cell_is_refused_naming_the_column(
    path: list[str], inside: list[str], prefixed: bool, value: str
) -> None:
    """The JSON cell gives the field itself, or a value where its section is, or inside it."""
    given_path = path[: len(path) - 1] if inside == [] and len(path) > 2 else path + inside
    assume(path[: len(given_path)] == given_path or given_path[: len(path)] == path)
    dotted = column(path, prefixed)
    header = ["name", "execution_config", dotted]
    errors = refusal(header, ["Buzz", json.dumps(nested(given_path, value)), "from the column"])
    assert errors == [
        f"row 2: {dotted}: also given in the execution_config column; give it in one of them"
    ]


@given(path=PATHS, other=KEYS, prefixed=PREFIXED)
def test_a_column_adds_to_the_json_cells_section(
    path: list[str], other: str, prefixed: bool
) -> None:
    assume(other != path[-1])
    section = nested(path[:-1], {other: "from the cell"})
    header = ["name", "execution_config", column(path, prefixed)]
    rows, _ = from_csv(
        csv_text(header, [["Buzz", json.dumps(section), "from the column"]]).encode()
    )
    config = rows[0]["execution_config"]
    for part in path[:-1]:
        config = config[part]
    assert config == {other: "from the cell", path[-1]: "from the column"}


@given(path=PATHS, inside=st.lists(KEYS, max_size=2), first=PREFIXED, second=PREFIXED)
def test_two_columns_giving_one_field_are_refused_naming_both(
    path: list[str], inside: list[str], first: bool, second: bool
) -> None:
    one, two = column(path, first), column(path + inside, second)
    assume(one != two)
    errors = refusal(["name", two, one], ["Buzz", "x", "y"])
    first_named, second_named = sorted([one, two]) if not inside else (one, two)
    assert errors == [f"row 1: {first_named} and {second_named}: both give {'.'.join(path)}"]


async def test_an_upload_giving_a_field_twice_is_422_and_makes_nothing(org_a: Caller) -> None:
    before = await batch_count(org_a)
    config = json.dumps({"account": {"email": "json@example.com"}})
    text = csv_text(
        ["name", "execution_config", "account.email"], [["Buzz", config, "col@example.com"]]
    )
    status, body = await org_a.post(BASE, params={"name": "s"}, data=text.encode(), headers=CSV)
    assert status == 422, body
    assert body["errors"] == [
        "row 2: account.email: also given in the execution_config column; give it in one of them"
    ]
    assert await batch_count(org_a) == before
