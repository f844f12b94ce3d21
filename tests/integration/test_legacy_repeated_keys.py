"""`regflow import-legacy` reads JSON as the API does: a key named twice is refused, never read
as its last value. In a job entry it makes that entry invalid, naming the key's path (the other
entries imported, as with any bad row); outside the entries the file cannot be read (exit 2)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.field_paths import field_path
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli
from tests.integration.test_legacy_bad_rows import BUZZ, good_row, has_events

__all__ = ["cli"]

REPEATED = "key given more than once"
MARK = f"mark-{uuid.uuid4().hex}"
KEYS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.lists(st.integers())


def object_paths(value: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The path of `value` and of every object it holds, when it is an object."""
    if not isinstance(value, dict):
        return []
    return [path, *(p for k, v in value.items() for p in object_paths(v, (*path, k)))]


# Every object of an entry where a key may be repeated: the top, restaurant, execution_config
# and sub_step_progress, and every object they hold.
PLACES = [()] + [
    p
    for root in ("restaurant", "execution_config", "sub_step_progress")
    for p in object_paths(BUZZ[root], (root,))
]


def with_repeated_key(row: dict[str, Any], where: tuple[str, ...], key: str) -> dict[str, Any]:
    """`row` with MARK standing for `key` in the object at `where` (made if it is not there)."""
    target = row
    for part in where:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target.pop(key, None)
    target[MARK] = MARK
    return row


def export_text(rows: list[Any], key: str, first: str, second: str) -> str:
    """The export of `rows`, the MARK in it written as `key` named twice."""
    text = json.dumps({"jobs": rows})
    pair = f"{json.dumps(MARK)}: {json.dumps(MARK)}"
    assert text.count(pair) == 1
    return text.replace(pair, f"{json.dumps(key)}: {first}, {json.dumps(key)}: {second}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"export-{uuid.uuid4().hex[:8]}.json"
    path.write_text(text)
    return path


class TestInAnEntry:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data(), key=KEYS, first=VALUES, same=st.booleans())
    def test_the_entry_is_invalid_naming_the_key_and_the_others_are_imported(
        self,
        cli: Cli,
        app: Registrations,
        tmp_path: Path,
        data: st.DataObject,
        key: str,
        first: Any,
        same: bool,
    ) -> None:
        org = unique_org()
        where = data.draw(st.sampled_from(PLACES), "place") + tuple(
            data.draw(st.lists(KEYS, max_size=3), "deeper")
        )
        second = first if same else data.draw(VALUES, "second")
        bad, good = with_repeated_key(good_row(org), where, key), good_row(org)
        text = export_text([good, bad], key, json.dumps(first), json.dumps(second))
        run = cli("import-legacy", str(write(tmp_path, text)), "--json")
        imported, refused = run.lines()
        assert (run.code, imported["outcome"], refused["outcome"]) == (1, "imported", "invalid")
        assert (refused["index"], refused["job_id"]) == (1, None)
        assert refused["errors"] == [f"{field_path([*where, key])}: {REPEATED}"]
        assert has_events(app, good["id"]) and not has_events(app, bad["id"])

    def test_two_organisations_land_in_neither(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        row = with_repeated_key(good_row(unique_org()), (), "organisation_id")
        text = export_text([row], "organisation_id", '"orga"', '"orgb"')
        run = cli("import-legacy", str(write(tmp_path, text)))
        assert run.code == 1 and "organisation_id: key given more than once" in run.out
        assert not has_events(app, row["id"])


class TestAroundTheEntries:
    @pytest.mark.parametrize(
        ("around", "named"),
        [('"jobs": []', "jobs"), ('"exported": {"by": 1, "by": 2}', "exported.by")],
        ids=["jobs twice", "in the envelope"],
    )
    def test_exit_2_naming_the_key_and_nothing_imported(
        self, cli: Cli, app: Registrations, tmp_path: Path, around: str, named: str
    ) -> None:
        row = good_row(unique_org())
        path = write(tmp_path, json.dumps({"jobs": [row]})[:-1] + f", {around}" + "}")
        run = cli("import-legacy", str(path), "--json")
        assert (run.code, run.out) == (2, "")
        assert run.err.startswith(
            f"error: cannot read {path}: A JSON object names a key more than once"
        )
        assert run.err.rstrip().endswith(f": {named}") and not has_events(app, row["id"])
