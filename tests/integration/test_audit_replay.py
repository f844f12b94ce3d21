"""`regflow replay --verify` and `regflow rebuild-projections`: drift is found, row by row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.schema import Schema
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, RawLog, cli, new_job

__all__ = ["cli"]


@pytest.fixture
def rebuilt(cli: Cli, app: Registrations) -> Iterator[str]:
    """A job, with every view rebuilt from the log; rebuilt again afterwards to undo any damage."""
    batch_id, job_id = new_job(app, unique_org())
    app.start_step6(None, batch_id, None, "user:u-1")
    assert cli("rebuild-projections", "--json").code == 0
    yield job_id
    cli("rebuild-projections", "--json")


def corrupt_status(settings: Settings, app: Registrations, job_id: str) -> None:
    table = Schema().jobs
    RawLog(settings, app).run(f"UPDATE {table} SET status=? WHERE job_id=?", ("completed", job_id))


class TestRebuild:
    def test_rebuild_reports_the_position_reached(self, cli: Cli, app: Registrations) -> None:
        new_job(app, unique_org())
        run = cli("rebuild-projections", "--json")
        head = app.recorder.max_notification_id()
        versions = fold_versions()
        assert run.code == 0
        assert run.lines() == [{"rebuilt_to_position": head, "fold_versions": versions}]

    def test_rebuild_prints_a_summary(self, cli: Cli, app: Registrations) -> None:
        new_job(app, unique_org())
        run = cli("rebuild-projections")
        assert run.code == 0 and "rebuilt" in run.out


class TestReplayVerify:
    def test_views_equal_to_the_log_exit_0(self, cli: Cli, rebuilt: str) -> None:
        run = cli("replay", "--verify", "--json")
        assert (run.code, run.lines()) == (0, [])

    def test_views_up_to_date_say_they_equal_a_rebuild(self, cli: Cli, rebuilt: str) -> None:
        run = cli("replay", "--verify")
        assert run.code == 0
        assert "no drift: the read models equal a rebuild from the log" in run.out

    def test_views_behind_the_log_say_how_far_they_were_compared(
        self, cli: Cli, rebuilt: str, app: Registrations
    ) -> None:
        new_job(app, unique_org())  # not in the views: no process applies it here
        head = app.recorder.max_notification_id()
        run = cli("replay", "--verify", "--json")
        assert (run.code, run.lines()) == (0, [])
        assert "no drift up to position" in run.err and f"log's head ({head})" in run.err
        assert "equal a rebuild" not in run.err

    def test_one_corrupted_row_is_reported_exactly(
        self, cli: Cli, rebuilt: str, settings: Settings, app: Registrations
    ) -> None:
        corrupt_status(settings, app, rebuilt)
        run = cli("replay", "--verify", "--json")
        assert run.code == 1
        assert run.lines() == [
            {
                "view": "job_progress",
                "key": rebuilt,
                "field": "status",
                "live": "completed",
                "rebuilt": "in_progress",
            }
        ]

    def test_one_job_is_checked_alone(
        self, cli: Cli, rebuilt: str, settings: Settings, app: Registrations
    ) -> None:
        _, other = new_job(app, unique_org())
        cli("rebuild-projections", "--json")
        corrupt_status(settings, app, rebuilt)
        assert [
            d["key"] for d in cli("replay", "--verify", "--job", rebuilt, "--json").lines()
        ] == [rebuilt]
        assert cli("replay", "--verify", "--job", other, "--json").code == 0

    def test_table_names_the_drifted_field(
        self, cli: Cli, rebuilt: str, settings: Settings, app: Registrations
    ) -> None:
        corrupt_status(settings, app, rebuilt)
        run = cli("replay", "--verify")
        assert run.code == 1 and rebuilt in run.out and "status" in run.out

    def test_unknown_job_exits_1_as_every_command_answers_one(self, cli: Cli) -> None:
        run = cli("replay", "--verify", "--job", "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c")
        assert run.code == 1 and "Job not found" in run.err
        assert cli("events", "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c").code == 1

    def test_replay_without_verify_exits_2(self, cli: Cli) -> None:
        assert cli("replay").code == 2
