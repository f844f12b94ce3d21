"""No job is left where no command moves it: whatever operators and workers did, a job that is
not completed and not running is started or resumed by one command, and a completed job has
nothing left to do."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.editing import EDIT_TARGETS
from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import new_job, run_until_stopped

COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.sampled_from(PLAN.keys), st.sampled_from(EDIT_TARGETS)),
        st.tuples(st.sampled_from(["start", "resume", "cancel", "run"]), st.just(""), st.just("")),
    ),
    max_size=14,
)


def moved_on(job: RegistrationJob) -> bool:
    """Whether starting or resuming the job (on a copy) is accepted and sets it running."""
    trial = copy.deepcopy(job)
    try:
        if trial.step6_started:
            trial.resume("user:u-1")
        else:
            trial.start_step6("user:u-1")
    except RegflowError:
        return False
    return str(trial.status) == "in_progress"


@settings(max_examples=300, deadline=None)
@given(commands=COMMANDS, outcomes=st.data())
def test_a_stopped_job_that_is_not_completed_is_always_started_or_resumed_by_one_command(
    commands: list[tuple[str, str, str]], outcomes: st.DataObject
) -> None:
    job = new_job()
    for kind, key, target in commands:
        try:
            if kind == "edit":
                job.edit([(key, target, None)], "user:u-1", "by hand")
            elif kind == "start":
                job.start_step6("user:u-1")
            elif kind == "resume":
                job.resume("user:u-1")
            elif kind == "cancel":
                job.cancel("user:u-1", None)
            elif str(job.status) == "in_progress":
                run_until_stopped(job, outcomes)
        except RegflowError:
            pass
        status = str(job.status)
        if status == "in_progress":
            continue
        if status == "completed":
            assert all(s in ("completed", "skipped") for s in job.statuses().values())
            continue
        assert moved_on(job), (status, job.statuses())
