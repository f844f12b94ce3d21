"""`regflow state --at/--version` equals what the live job showed at those moments."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.job import RegistrationJob
from domain.secrets import redact
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli, new_job

__all__ = ["cli"]

ACTOR = "user:u-1"
Moment = tuple[str, dict[str, Any]]


def live_view(job: RegistrationJob) -> dict[str, Any]:
    """What the live job shows, in the terms `state --json` answers in."""
    return {
        "version": job.version,
        "status": str(job.status),
        "statuses": job.shown_statuses(),
        "phases": job.phase_statuses(),
        "context": redact(json.loads(json.dumps(job.context, default=str))),
    }


def history(app: Registrations) -> tuple[str, list[Moment]]:
    """A job through runs, a failure, a cancel, manual edits and a resume, seen after each step."""
    org = unique_org()
    batch_id, job_id = new_job(app, org)
    moments: list[Moment] = []

    def then(command: Callable[[RegistrationJob], Any] | None = None) -> None:
        if command is not None:
            app.update_job(job_id, org, command)
        moments.append((datetime.now(UTC).isoformat(), live_view(app.job(job_id))))

    then()
    app.start_step6(org, batch_id, None, ACTOR)
    then()
    then(lambda j: j.start_sub_step("codeGeneration"))
    then(lambda j: j.complete_sub_step("codeGeneration", {"codeInjectionId": "ci-1", "token": "t"}))
    then(lambda j: j.start_sub_step("createOnboardingUser"))
    then(lambda j: j.fail_sub_step("createOnboardingUser", "HTTP 400: bad email", False))
    then(lambda j: j.cancel(ACTOR, "fix the email first"))
    then(
        lambda j: j.edit(
            [("createOnboardingUser", "completed", {"userId": "u-9"})], ACTOR, "by hand"
        )
    )
    then(lambda j: j.edit([("codeGeneration", "pending", None)], ACTOR, "regenerate"))
    then(lambda j: j.resume(ACTOR))
    return job_id, moments


def shown(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("version", "status", "statuses", "phases", "context")}


class TestStateAt:
    def test_each_moment_replays_to_the_live_state(self, cli: Cli, app: Registrations) -> None:
        job_id, moments = history(app)
        assert len({m["version"] for _, m in moments}) == len(moments)
        for at, live in moments:
            run = cli("state", job_id, "--at", at, "--json")
            assert run.code == 0
            assert shown(run.lines()[0]) == live

    def test_each_version_replays_to_the_live_state(self, cli: Cli, app: Registrations) -> None:
        job_id, moments = history(app)
        for _, live in moments:
            run = cli("state", job_id, "--version", str(live["version"]), "--json")
            assert shown(run.lines()[0]) == live

    def test_blocked_and_context_are_shown_then(self, cli: Cli, app: Registrations) -> None:
        job_id, moments = history(app)
        at_failure = moments[5][0]
        record = cli("state", job_id, "--at", at_failure, "--json").lines()[0]
        assert record["statuses"]["syncOnboardingUser"] == "blocked"
        assert record["context"]["codeInjectionId"] == "ci-1"
        assert record["context"]["results"]["codeGeneration"]["token"] == "***"

    def test_table_shows_statuses(self, cli: Cli, app: Registrations) -> None:
        job_id, _ = history(app)
        run = cli("state", job_id, "--version", "3")
        assert run.code == 0 and "codeGeneration" in run.out and "in_progress" in run.out


class TestStateRefusals:
    def test_before_the_job_existed_exits_1(self, cli: Cli, app: Registrations) -> None:
        _, job_id = new_job(app, unique_org())
        earlier = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        run = cli("state", job_id, "--at", earlier)
        assert run.code == 1 and "did not exist yet" in run.err

    def test_unknown_version_exits_1(self, cli: Cli, app: Registrations) -> None:
        _, job_id = new_job(app, unique_org())
        assert cli("state", job_id, "--version", "9").code == 1

    def test_time_and_version_together_are_refused(self, cli: Cli, app: Registrations) -> None:
        _, job_id = new_job(app, unique_org())
        now = datetime.now(UTC).isoformat()
        assert cli("state", job_id, "--at", now, "--version", "1").code == 2


class TestStateNow:
    def test_without_a_time_or_version_it_is_the_latest(self, cli: Cli, app: Registrations) -> None:
        job_id, moments = history(app)
        run = cli("state", job_id, "--json")
        assert run.code == 0
        assert shown(run.lines()[0]) == moments[-1][1]
