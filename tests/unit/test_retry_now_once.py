"""Retry now cuts a wait once: the first request of a wait is recorded, any later one of the same
wait is refused and records nothing, whatever the job went through before."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.exceptions import IllegalTransition
from domain.job import RegistrationJob
from domain.status import JobStatus
from tests.unit.jobs import new_job, running_job, try_chosen_command


def cut_already(history: list[Any], key: str) -> bool:
    """Whether the log holds a retry-now of `key` since its latest attempt started."""
    for event in reversed(history):
        if getattr(event, "sub_step", None) != key:
            continue
        kind = type(event).__name__
        if kind == "SubStepRetryRequested":
            return True
        if kind == "SubStepStarted":
            return False
    return False


def ask_each_waiting_sub_step(job: RegistrationJob, history: list[Any]) -> None:
    """Ask retry-now of every waiting sub-step of a running job: refused when the log says its
    wait was cut already, recorded otherwise."""
    if job.status != JobStatus.IN_PROGRESS:
        return
    for key in job.waiting_to_retry():
        if cut_already(history, key):
            version = job.version
            with contextlib.suppress(IllegalTransition):
                job.retry_now(key, "user:u-1")
                raise AssertionError(f"a second retry-now of {key}'s wait was recorded")
            assert job.pending_events == [] and job.version == version
        else:
            job.retry_now(key, "user:u-1")
            history += job.collect_events()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_each_wait_is_cut_once_however_the_job_got_there(choices: list[int]) -> None:
    job = new_job()
    history = list(job.collect_events())
    for choice in choices:
        try_chosen_command(job, choice)
        history += job.collect_events()
        ask_each_waiting_sub_step(job, history)


def test_a_second_retry_now_says_the_attempt_is_due_already() -> None:
    job = running_job()
    job.start_sub_step("codeGeneration")
    job.schedule_retry("codeGeneration", "HTTP 503", delay=600.0)
    job.retry_now("codeGeneration", "user:u-1")
    job.collect_events()
    try:
        job.retry_now("codeGeneration", "user:u-2")
    except IllegalTransition as exc:
        assert "already asked" in exc.message and "due" in exc.message
    else:
        raise AssertionError("the second retry-now was recorded")
