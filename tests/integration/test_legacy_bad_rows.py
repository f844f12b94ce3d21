"""`regflow import-legacy` with half-broken rows: each bad row is reported invalid, naming its
field, the good rows are imported, and a file that cannot be read is exit 2; never a traceback."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli

__all__ = ["cli"]

BUZZ: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "legacy" / "buzz.json").read_text()
)["jobs"][0]
PHASES = ("sub_step_progress", "phases")
CODE = (*PHASES, "phase1", "sub_steps", "codeGeneration")


def good_row(org: str) -> dict[str, Any]:
    row = copy.deepcopy(BUZZ)
    row.update(id=str(uuid.uuid4()), organisation_id=org)
    return row


def changed(row: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`row` with the field at `path` set to `value`."""
    row = copy.deepcopy(row)
    *parents, last = path
    target = row
    for part in parents:
        target = target[part]
    target[last] = value
    return row


def write_rows(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / f"export-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps({"jobs": rows}))
    return path


def has_events(app: Registrations, job_id: str) -> bool:
    return bool(app.recorder.select_events(uuid.UUID(job_id), limit=1))


# Each is one field of a good row given a shape it cannot have, and a word its error names.
BROKEN_FIELDS = {
    "sub_steps as a list": (
        (*PHASES, "phase1", "sub_steps"),
        ["cloudwaitressAccount"],
        "phase1.sub_steps",
    ),
    "sub_steps as a string": ((*PHASES, "phase3", "sub_steps"), "x", "phase3.sub_steps"),
    "organisation_id as an object": (("organisation_id",), {"a": 1}, "organisation_id"),
    "organisation_id as a number": (("organisation_id",), 12, "organisation_id"),
    "organisation_id with a newline and a bidi override": (
        ("organisation_id",),
        "evil\nline\u202e",
        "organisation_id",
    ),
    "a status as a list": ((*CODE, "status"), [], "codeGeneration.status"),
    "a phase as a list": ((*PHASES, "phase1"), [1], "phase1"),
    "batch_name as a list": (("batch_name",), [1], "batch_name"),
    "started_at as an object": ((*CODE, "started_at"), {"a": 1}, "codeGeneration.started_at"),
    "a NUL in a result": ((*CODE, "result"), {"a": "x\x00y"}, "codeGeneration.result.a"),
    "a lone surrogate in a result": (
        (*CODE, "result"),
        {"a": "x\ud800y"},
        "codeGeneration.result.a",
    ),
    "an error as an object": ((*CODE, "error"), {"deep": [1]}, "codeGeneration.error"),
    "Infinity in a result": ((*CODE, "result"), {"n": float("inf")}, "codeGeneration.result.n"),
}


class TestBrokenRows:
    @pytest.mark.parametrize("case", list(BROKEN_FIELDS))
    def test_the_bad_row_is_invalid_naming_its_field_and_the_good_one_is_imported(
        self, cli: Cli, app: Registrations, tmp_path: Path, case: str
    ) -> None:
        path, value, field = BROKEN_FIELDS[case]
        org = unique_org()
        bad, good = changed(good_row(org), path, value), good_row(org)
        run = cli("import-legacy", str(write_rows(tmp_path, [bad, good])), "--json")
        first, second = run.lines()
        assert (run.code, first["outcome"], second["outcome"]) == (1, "invalid", "imported")
        assert any(field in error for error in first["errors"]), first["errors"]
        assert has_events(app, good["id"]) and not has_events(app, bad["id"])

    def test_a_table_of_outcomes_is_printed_too(self, cli: Cli, tmp_path: Path) -> None:
        org = unique_org()
        rows = [changed(good_row(org), p, v) for p, v, _ in BROKEN_FIELDS.values()]
        run = cli("import-legacy", str(write_rows(tmp_path, [*rows, good_row(org)])))
        assert run.code == 1 and "Traceback" not in run.err
        assert run.out.count("invalid") == len(rows) and run.out.count("imported") == 1

    def test_a_row_repeating_an_earlier_rows_job_is_refused_and_the_first_imported(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        row = good_row(unique_org())
        run = cli("import-legacy", str(write_rows(tmp_path, [row, row])), "--json")
        assert run.code == 1
        assert [o["outcome"] for o in run.lines()] == ["imported", "refused"]
        assert has_events(app, row["id"])


class TestUnreadableFiles:
    @pytest.mark.parametrize(
        "text",
        [
            '{"jobs": ' + "[" * 100_000 + "]" * 100_000 + "}",
            '{"jobs": [' + "1" * 5000 + "]}",
            '{"jobs": [',
        ],
        ids=["nested 100000 deep", "a 5000-digit number", "truncated"],
    )
    def test_exit_2_saying_the_file_cannot_be_read(
        self, cli: Cli, tmp_path: Path, text: str
    ) -> None:
        path = tmp_path / "export.json"
        path.write_text(text)
        run = cli("import-legacy", str(path), "--json")
        assert (run.code, run.out) == (2, "")
        assert run.err.startswith(f"error: cannot read {path}") and "Traceback" not in run.err


class TestByteOrderMark:
    def test_an_export_saved_with_a_utf8_bom_is_imported(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        row = good_row(unique_org())
        path = tmp_path / "export.json"
        path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"jobs": [row]}).encode())
        run = cli("import-legacy", str(path), "--json")
        assert (run.code, [o["outcome"] for o in run.lines()]) == (0, ["imported"])
        assert has_events(app, row["id"])


TEXT = st.text(st.characters() | st.sampled_from(["\x00", "\ud800", "\n", "\u202e"]))
NUMBERS = st.booleans() | st.integers() | st.floats()


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(st.none() | NUMBERS | TEXT, containers, max_leaves=8)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)


def field_paths(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of a row, by its path from the top."""
    if not isinstance(value, dict):
        return []
    return [p for k, v in value.items() for p in [(*path, k), *field_paths(v, (*path, k))]]


ROW_FIELDS = field_paths(BUZZ)
NOT_AN_OBJECT = NUMBERS | TEXT | st.lists(json_values(), max_size=3)
NOT_A_STRING = NUMBERS | containers(json_values())
PHASE_NAMES = ("phase1", "phase2", "phase3", "phase4")


@st.composite
def bad_rows(draw: st.DrawFn, org: str) -> tuple[dict[str, Any] | Any, bool]:
    """A bad row and whether it must be invalid (a changed field may still be acceptable)."""
    kind = draw(st.sampled_from(["anything", "any field", "sub_steps", "organisation", "phase"]))
    if kind == "anything":
        row = draw(json_values())
        return row, not isinstance(row, dict)
    row = good_row(org)
    if kind == "any field":
        return changed(row, draw(st.sampled_from(ROW_FIELDS)), draw(json_values())), False
    if kind == "organisation":
        return changed(row, ("organisation_id",), draw(NOT_A_STRING)), True
    phase = draw(st.sampled_from(PHASE_NAMES))
    where = (*PHASES, phase, "sub_steps") if kind == "sub_steps" else (*PHASES, phase)
    return changed(row, where, draw(NOT_AN_OBJECT)), True


class TestMixedFiles:
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_exactly_the_good_rows_are_imported_and_every_bad_one_reported(
        self, cli: Cli, app: Registrations, tmp_path: Path, data: st.DataObject
    ) -> None:
        org = unique_org()
        goods = [good_row(org) for _ in range(data.draw(st.integers(0, 4), "good rows"))]
        placed: list[tuple[Any, str]] = [(row, "imported") for row in goods]
        for row, must_be_invalid in data.draw(st.lists(bad_rows(org), min_size=1, max_size=5)):
            expected = "invalid" if must_be_invalid else "reported"
            placed.insert(data.draw(st.integers(0, len(placed)), "place"), (row, expected))
        rows = [row for row, _ in placed]
        run = cli("import-legacy", str(write_rows(tmp_path, rows)), "--json")
        assert "Traceback" not in run.err
        outcomes = run.lines()
        assert [o["index"] for o in outcomes] == list(range(len(rows)))
        for (_, expected), outcome in zip(placed, outcomes, strict=True):
            if expected in ("imported", "invalid"):
                assert outcome["outcome"] == expected, outcome
            if outcome["outcome"] == "imported":
                assert has_events(app, outcome["job_id"])
            else:
                assert outcome["errors"], outcome
        assert all(has_events(app, good["id"]) for good in goods)
        all_imported = all(o["outcome"] == "imported" for o in outcomes)
        assert run.code == (0 if all_imported else 1)


@pytest.mark.parametrize("as_json", [True, False], ids=["--json", "table"])
def test_a_legacy_id_holding_a_credential_is_shown_masked(
    cli: Cli, tmp_path: Path, as_json: bool
) -> None:
    """A legacy id is free text from the old system, shown in the outcome and quoted in its
    warnings: masked as every shown text is, in JSON as in the table."""
    legacy = f"legacy-{uuid.uuid4().hex[:8]}"  # a legacy id makes the job's: one per store
    row = good_row(unique_org()) | {"id": f"{legacy} password=LegacyIdPw-CC1"}
    ran = cli("import-legacy", str(write_rows(tmp_path, [row])), *(["--json"] if as_json else []))
    assert ran.code == 0, ran.err
    assert "LegacyIdPw-CC1" not in ran.out + ran.err
    if as_json:
        [outcome] = ran.lines()
        assert outcome["legacy_id"] == f"{legacy} password=***"


def test_a_cli_refusal_quoting_a_credential_quotes_it_masked(cli: Cli, tmp_path: Path) -> None:
    """On standard error, and as the JSON document `--json` prints."""
    imported = cli("import-legacy", str(write_rows(tmp_path, [good_row(unique_org())])), "--json")
    job = imported.lines()[0]["job_id"]
    for extra in ([], ["--json"]):
        ran = cli("mark", job, "password=MarkPw-Q1", "failed", "--reason", "r", *extra)
        assert ran.code == 1, (ran.out, ran.err)
        assert "MarkPw-Q1" not in ran.out + ran.err
        assert "password=***" in ran.out + ran.err
