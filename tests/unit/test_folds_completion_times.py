"""A sub-step shows a completion time when it is finished (completed, failed, skipped) and only
then: one waiting for or running a later attempt shows none, however it got there, in the live
job's document and in the one its log folds to."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.folds.jobs import document_of, progress_document
from tests.unit.jobs import fail, new_job, running_job, succeed, try_chosen_command

FINISHED = {"completed", "failed", "skipped"}


def completion_times(document: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Each sub-step's shown status and completion time."""
    return {
        key: (entry["status"], entry["completed_at"])
        for phase in document["phases"].values()
        for key, entry in phase["sub_steps"].items()
    }


def wrong_times(document: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """The sub-steps whose completion time does not go with their status."""
    return {
        key: (status, at)
        for key, (status, at) in completion_times(document).items()
        if (at is not None) != (status in FINISHED)
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=80))
def test_only_finished_sub_steps_show_a_completion_time(choices: list[int]) -> None:
    job = new_job()
    history = list(job.collect_events())
    for choice in choices:
        try_chosen_command(job, choice)
        history += job.collect_events()
        live = document_of(job)
        assert wrong_times(live) == {}
        assert completion_times(progress_document(history)) == completion_times(live)


def test_a_retried_attempt_after_a_resume_shows_no_completion_time_but_its_error() -> None:
    job = running_job()
    fail(job, "cloudwaitressAccount")
    while job.runnable():
        succeed(job, *job.runnable())
    job.finish()
    job.resume("user:u-1")
    job.claim("worker-2")
    job.start_sub_step("cloudwaitressAccount")
    running = completion_times(document_of(job))["cloudwaitressAccount"]
    job.schedule_retry("cloudwaitressAccount", "HTTP 503", delay=30.0)
    document = document_of(job)
    entry = document["phases"]["phase1"]["sub_steps"]["cloudwaitressAccount"]
    assert running == ("in_progress", None)
    assert (entry["status"], entry["completed_at"], entry["error"]) == (
        "retrying",
        None,
        "HTTP 503",
    )
