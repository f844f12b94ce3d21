"""An edit that leaves every sub-step settled (completed or skipped) in a job that is not
completed says so: the job's machine completes a job only through a resume, and the operator
who mended the last failure by hand is told what is left to do."""

from __future__ import annotations

from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.status import JobStatus
from tests.unit.jobs import fail, given, running_job, succeed

BUT_LAST = PLAN.keys[:-1]
LAST = PLAN.keys[-1]  # a sub-step nothing depends on


def settled_hint(status: str) -> str:
    return f"every sub-step is settled: the job stays {status} until it is resumed"


def failed_at_last() -> RegistrationJob:
    job = running_job()
    succeed(job, *BUT_LAST)
    fail(job, LAST)
    job.finish()
    return given(job)


def completed() -> RegistrationJob:
    job = running_job()
    succeed(job, *PLAN.keys)
    job.finish()
    return given(job)


def warnings_of(job: RegistrationJob, edits: list[tuple[str, str]]) -> list[str]:
    checks = job.edit([(k, t, None) for k, t in edits], "user:ann", "mended by hand")
    return [w for c in checks for w in c.warnings]


def test_mending_the_last_failure_says_the_job_waits_for_a_resume() -> None:
    for target in ("skipped", "completed"):
        job = failed_at_last()
        assert settled_hint("failed") in warnings_of(job, [(LAST, target)])
        assert job.status == JobStatus.FAILED


def test_a_reopened_job_settled_again_says_so_too() -> None:
    job = completed()
    shown = warnings_of(job, [(LAST, "pending"), (LAST, "completed")])
    assert job.status == JobStatus.PENDING
    assert settled_hint("pending") in shown


def test_no_hint_while_a_failure_stands_or_the_job_is_completed() -> None:
    assert not any("settled" in w for w in warnings_of(completed(), [(LAST, "skipped")]))
    assert not any("settled" in w for w in warnings_of(completed(), [(LAST, "failed")]))
    job = failed_at_last()
    assert not any("settled" in w for w in warnings_of(job, [(BUT_LAST[-1], "failed")]))


def test_a_dry_run_and_the_validation_say_it_before_the_edit() -> None:
    job = failed_at_last()
    assert settled_hint("failed") in job.preview_edits([(LAST, "skipped")])[0].warnings
    assert settled_hint("failed") in job.validation(LAST).checks["skipped"].warnings
