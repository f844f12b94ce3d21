"""`regflow events` and `regflow export` on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.cli import audit_export
from api.cli.audit import short
from domain.exceptions import RegflowError
from infrastructure.usecases.registrations import Registrations
from projections.folds.timeline import timeline_entry
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli, new_job

__all__ = ["cli"]

SECRET = "hunter2-secret"


def started(app: Registrations, org: str) -> tuple[str, str]:
    batch_id, job_id = new_job(app, org)
    app.start_step6(org, batch_id, None, "user:u-1")
    return batch_id, job_id


class TestEvents:
    def test_lists_the_jobs_log_oldest_first(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        run = cli("events", job_id, "--json")
        lines = run.lines()
        assert run.code == 0
        assert [(e["version"], e["type"]) for e in lines] == [
            (1, "JobCreated"),
            (2, "Step6Started"),
        ]
        assert lines[0]["actor"] == "user:u-1" and lines[0]["aggregate_id"] == job_id

    def test_each_events_reason_is_the_one_the_api_shows(
        self, cli: Cli, app: Registrations
    ) -> None:
        """A refused edit's reason is inside the edit it records: the CLI showed none."""
        org = unique_org()
        _, job_id = new_job(app, org)
        edit = [("codeGeneration", "completed", None)]
        app.edit(org, job_id, edit, "cli:ann", "done by hand", False)
        with contextlib.suppress(RegflowError):
            app.edit(org, job_id, edit, "cli:ann", "once more", False)
        entries = map(timeline_entry, app.events.get(app.job(job_id).id))
        shown = {e["version"]: e["reason"] for e in entries}  # as the API's timeline has them
        lines = cli("events", job_id, "--json").lines()
        assert {e["version"]: e["reason"] for e in lines} == shown
        assert [e["reason"] for e in lines if e["type"] == "EditRefused"] == ["once more"]

    def test_secrets_are_masked_in_json_and_table(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        as_json, as_table = cli("events", job_id, "--json"), cli("events", job_id)
        account = as_json.lines()[0]["data"]["execution_config"]["account"]
        assert account["password"] == "***"
        assert SECRET not in as_json.out and SECRET not in as_table.out

    def test_filters_by_type_and_actor(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        by_type = cli("events", job_id, "--json", "--type", "step6started")
        by_actor = cli("events", job_id, "--json", "--actor", "someone-else")
        assert [e["version"] for e in by_type.lines()] == [2]
        assert by_actor.code == 0 and by_actor.lines() == []

    def test_filters_by_time(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        assert cli("events", job_id, "--json", "--since", later).lines() == []
        assert len(cli("events", job_id, "--json", "--until", later).lines()) == 2

    def test_table_shows_types(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        run = cli("events", job_id)
        assert run.code == 0 and "JobCreated" in run.out and "Step6Started" in run.out

    def test_the_table_shows_each_events_data_as_the_json_does(
        self, cli: Cli, app: Registrations
    ) -> None:
        """The table masks what the JSON masks and nothing more: an idempotency key, a null,
        a field whose name holds "key" are shown as they are."""
        org = unique_org()
        _, job_id = started(app, org)
        app.update_job(job_id, org, lambda j: j.claim("worker-1"))
        app.update_job(job_id, org, lambda j: j.start_sub_step("codeGeneration"))
        app.update_job(
            job_id,
            org,
            lambda j: j.complete_sub_step(
                "codeGeneration", {"codeInjectionId": "ci-1", "keyboardLayout": None}
            ),
        )
        as_json, as_table = cli("events", job_id, "--json"), cli("events", job_id)
        data = [line["data"] for line in as_json.lines()]
        assert any("idempotency_key" in d for d in data), data
        for shown in data:
            assert short(shown, None) in as_table.out, short(shown, None)
        assert SECRET not in as_table.out

    def test_unknown_job_exits_1(self, cli: Cli) -> None:
        run = cli("events", "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c")
        assert run.code == 1 and "Job not found" in run.err

    def test_malformed_time_is_a_usage_error(self, cli: Cli, app: Registrations) -> None:
        _, job_id = started(app, unique_org())
        assert cli("events", job_id, "--since", "yesterday").code == 2


@pytest.mark.parametrize("command", ["events", "export"])
@pytest.mark.parametrize(
    ("since", "until"),
    [("2030-01-01", "2020-01-01"), ("2026-01-01T00:00:01", "2026-01-01T00:00:00+00:00")],
)
def test_a_time_range_no_moment_is_in_is_refused(
    cli: Cli, app: Registrations, tmp_path: Path, command: str, since: str, until: str
) -> None:
    """`export --since 2030 --until 2020` exited 0 with nothing, as if no events were there."""
    batch_id, job_id = started(app, unique_org())
    target = [job_id] if command == "events" else ["--batch", batch_id]
    out = tmp_path / "export.jsonl"
    out.write_text("kept\n")
    extra = ["--output", str(out)] if command == "export" else []
    run = cli(command, *target, "--since", since, "--until", until, *extra)
    assert run.code == 2 and "is after --until" in run.err and run.out == "", run
    assert out.read_text() == "kept\n"


class TestExport:
    def test_batch_export_holds_the_batch_and_its_jobs(self, cli: Cli, app: Registrations) -> None:
        batch_id, job_id = started(app, unique_org())
        lines = cli("export", "--batch", batch_id).lines()
        assert {e["aggregate_id"] for e in lines} == {batch_id, job_id}
        assert [e["at"] for e in lines] == sorted(e["at"] for e in lines)
        assert {"aggregate_id", "version", "type", "at", "actor", "reason", "data"} <= set(lines[0])

    def test_organisation_export_holds_only_that_organisation(
        self, cli: Cli, app: Registrations
    ) -> None:
        org = unique_org()
        first, second = started(app, org), new_job(app, org)
        started(app, unique_org())
        lines = cli("export", "--org", org).lines()
        assert {e["aggregate_id"] for e in lines} == {*first, *second}

    def test_time_range_and_output_file(self, cli: Cli, app: Registrations, tmp_path: Path) -> None:
        org = unique_org()
        started(app, org)
        cut = datetime.now(UTC).isoformat()
        _, late_job = new_job(app, org)
        out = tmp_path / "audit.jsonl"
        run = cli("export", "--org", org, "--since", cut, "--output", str(out))
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert run.code == 0 and "wrote" in run.err
        assert late_job in {e["aggregate_id"] for e in lines} and len(lines) == 2

    def test_export_masks_secrets(self, cli: Cli, app: Registrations) -> None:
        batch_id, _ = started(app, unique_org())
        assert SECRET not in cli("export", "--batch", batch_id).out

    def test_unknown_batch_or_organisation_exits_1(self, cli: Cli) -> None:
        assert cli("export", "--org", unique_org()).code == 1
        assert cli("export", "--batch", "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c").code == 1


KEPT = '{"an": "earlier export"}\n'


class TestARefusedExportChangesNothing:
    @pytest.mark.parametrize(
        "selection",
        [
            ["--batch", "zzz"],
            ["--batch", "00000000"],
            ["--batch", "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c"],
            ["--org", "nobody-by-this-name"],
        ],
    )
    def test_the_output_file_keeps_what_it_held(
        self, cli: Cli, tmp_path: Path, selection: list[str]
    ) -> None:
        kept, new = tmp_path / "keep.jsonl", tmp_path / "new.jsonl"
        kept.write_text(KEPT)
        assert cli("export", *selection, "--output", str(kept)).code == 1
        assert cli("export", *selection, "--output", str(new)).code == 1
        assert kept.read_text() == KEPT
        assert sorted(p.name for p in tmp_path.iterdir() if "jsonl" in p.name) == ["keep.jsonl"]

    def test_an_output_in_no_directory_is_a_usage_error(self, cli: Cli, tmp_path: Path) -> None:
        run = cli("export", "--output", str(tmp_path / "absent" / "audit.jsonl"))
        assert run.code == 2 and "does not exist" in run.err
        assert not (tmp_path / "absent").exists()

    def test_a_failure_part_way_leaves_the_old_file_whole(
        self, cli: Cli, app: Registrations, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        batch_id, _ = started(app, unique_org())
        kept = tmp_path / "keep.jsonl"
        kept.write_text(KEPT)
        written: list[object] = []

        def full_disk_on_the_second(record: object, out: object = None) -> None:
            if written:
                raise OSError(28, "No space left on device")
            written.append(record)

        monkeypatch.setattr(audit_export, "write_json", full_disk_on_the_second)
        with contextlib.suppress(OSError):  # raised, or said and exited with: either will do
            assert cli("export", "--batch", batch_id, "--output", str(kept)).code != 0
        assert written
        assert kept.read_text() == KEPT
        assert sorted(p.name for p in tmp_path.iterdir() if "jsonl" in p.name) == ["keep.jsonl"]

    def test_a_whole_export_replaces_the_file(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        batch_id, job_id = started(app, unique_org())
        kept = tmp_path / "keep.jsonl"
        kept.write_text(KEPT * 100)
        assert cli("export", "--batch", batch_id, "--output", str(kept)).code == 0
        lines = [json.loads(line) for line in kept.read_text().splitlines()]
        assert {e["aggregate_id"] for e in lines} == {batch_id, job_id}


class TestErasuresInTheExport:
    def test_an_erasure_is_exported_with_its_organisation_under_its_own_type(
        self, cli: Cli, app: Registrations
    ) -> None:
        org = unique_org()
        batch_id, job_id = started(app, org)
        before = datetime.now(UTC).isoformat()
        assert cli("erase-organisation", org, "--yes").code == 0
        lines = cli("export", "--org", org).lines()
        erasures = [e for e in lines if e["aggregate_id"] not in (batch_id, job_id)]
        assert [e["type"] for e in erasures] == ["OrganisationErasureCreated"]
        assert erasures[0]["data"]["organisation_id"] == org
        assert erasures[0]["actor"].startswith("cli:")
        everything = {
            e["aggregate_id"]: e["type"] for e in cli("export", "--since", before).lines()
        }
        assert everything[erasures[0]["aggregate_id"]] == "OrganisationErasureCreated"
