"""The resume plan is what the resume runs: the sub-steps it lists are exactly those a worker
then calls, whatever the execution_config switches off, whatever failed and whatever an operator
marked by hand (it listed switched-off sub-steps that were then skipped without a call)."""

from __future__ import annotations

from contextlib import suppress

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.plan import PLAN
from tests.kit import full_config
from tests.unit.jobs import EDIT_TARGETS, new_job, run_until_stopped


@settings(max_examples=300, deadline=None)
@given(
    skip=st.sets(st.sampled_from(PLAN.keys)),
    edits=st.lists(
        st.tuples(st.sampled_from(PLAN.keys), st.sampled_from(EDIT_TARGETS)), max_size=4
    ),
    outcomes=st.data(),
)
def test_a_resume_plan_lists_exactly_the_sub_steps_the_resume_runs(
    skip: set[str], edits: list[tuple[str, str]], outcomes: st.DataObject
) -> None:
    job = new_job(full_config(skip=sorted(skip)))
    job.start_step6("user:u-1")
    run_until_stopped(job, outcomes)
    for key, target in edits:
        with suppress(RegflowError):
            job.edit([(key, target, None)], "user:u-1", "by hand")
    try:
        plan = job.resume("user:u-1")
    except RegflowError:
        return
    if str(job.status) != "in_progress":
        assert plan.sub_steps == [], "a resume that runs nothing lists nothing"
        return
    called = []
    job.claim("worker-1")
    while ready := job.runnable():
        job.start_sub_step(ready[0])
        called.append(ready[0])
        job.complete_sub_step(ready[0], {"id": ready[0]})
    assert called == plan.sub_steps
    assert plan.phase == (PLAN.phase_of(called[0]) if called else None)
