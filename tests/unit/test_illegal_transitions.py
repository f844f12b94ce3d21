"""Every transition the state machines forbid is refused by the aggregate, recording nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.status import JOB_MACHINE, SUB_STEP_MACHINE, destination
from tests.unit.jobs import FULL_CONFIG, fail, given, new_job, refused, running_job, succeed
from tests.unit.test_job_operator_commands import completed_job, failed_at_menu_import

KEY = "codeGeneration"


def _sub_step_in(status: str) -> RegistrationJob:
    if status == "skipped":
        return running_job({**FULL_CONFIG, "website": {"enabled": False}})
    job = running_job()
    if status in ("in_progress", "retrying"):
        job.start_sub_step(KEY)
    if status == "retrying":
        job.schedule_retry(KEY, "HTTP 503", delay=1.0)
    if status == "completed":
        succeed(job, KEY)
    if status == "failed":
        fail(job, KEY)
    return job


SUB_STEP_COMMANDS: dict[str, Callable[[RegistrationJob], Any]] = {
    "start": lambda job: job.start_sub_step(KEY),
    "schedule_retry": lambda job: job.schedule_retry(KEY, "HTTP 503", delay=1.0),
    "complete": lambda job: job.complete_sub_step(KEY, {}),
    "fail": lambda job: job.fail_sub_step(KEY, "boom", transient=False),
    "retry_now": lambda job: job.retry_now(KEY, "user:u-1"),
}
SUB_STEP_STATUSES = ("pending", "in_progress", "retrying", "completed", "failed", "skipped")
ILLEGAL_SUB_STEP = [
    (trigger, status)
    for trigger in SUB_STEP_COMMANDS
    for status in SUB_STEP_STATUSES
    if destination(SUB_STEP_MACHINE, trigger, status) is None
]


@pytest.mark.parametrize(("trigger", "status"), ILLEGAL_SUB_STEP)
def test_illegal_sub_step_transition_is_refused(trigger: str, status: str) -> None:
    job = given(_sub_step_in(status))
    assert job.sub_steps[KEY].status == status
    refused(job, lambda: SUB_STEP_COMMANDS[trigger](job), RegflowError)


def _cancelled() -> RegistrationJob:
    job = running_job()
    job.cancel("user:u-1", None)
    return job


JOBS_IN: dict[str, Callable[[], RegistrationJob]] = {
    "pending": new_job,
    "in_progress": running_job,
    "completed": completed_job,
    "failed": failed_at_menu_import,
    "cancelled": _cancelled,
}
JOB_COMMANDS: dict[str, Callable[[RegistrationJob], Any]] = {
    "start": lambda job: job.start_step6("user:u-1"),
    "claim": lambda job: job.claim("worker-9"),
    "complete": lambda job: job.finish(),
    "cancel": lambda job: job.cancel("user:u-1", None),
    "resume": lambda job: job.resume("user:u-1"),
}
ILLEGAL_JOB = [
    (trigger, status)
    for trigger in JOB_COMMANDS
    for status in JOBS_IN
    if destination(JOB_MACHINE, trigger, status) is None
    and (trigger, status) != ("resume", "completed")
]


@pytest.mark.parametrize(("trigger", "status"), ILLEGAL_JOB)
def test_illegal_job_transition_is_refused(trigger: str, status: str) -> None:
    job = given(JOBS_IN[status]())
    assert job.status == status
    refused(job, lambda: JOB_COMMANDS[trigger](job), RegflowError)


def test_every_machine_state_is_reachable_in_these_tests() -> None:
    assert set(SUB_STEP_STATUSES) == set(SUB_STEP_MACHINE.states)
    assert set(JOBS_IN) == set(JOB_MACHINE.states)
