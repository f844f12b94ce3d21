"""The job's queries the engine asks several times per sub-step answer as their definitions do."""

from __future__ import annotations

import uuid

import hypothesis
from hypothesis import strategies as st

from domain.editing import display_statuses
from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.status import SETTLED_WELL, JobStatus, PhaseStatus, SubStepStatus

_S = SubStepStatus
SETTLED = {_S.COMPLETED, _S.SKIPPED, _S.FAILED, _S.BLOCKED}
STORED = [s for s in SubStepStatus if s != _S.BLOCKED]  # blocked is derived, never stored


def runnable_by_definition(job: RegistrationJob) -> list[str]:
    """Waiting sub-steps whose dependencies completed or were skipped, in phases whose earlier
    phases are all settled; written for reading, not speed."""
    if job.status != JobStatus.IN_PROGRESS:
        return []
    shown = display_statuses({k: str(s.status) for k, s in job.sub_steps.items()})
    ready: list[str] = []
    for phase in PLAN.phases:
        keys = PLAN.in_phase(phase)
        ready += [
            k
            for k in keys
            if shown[k] in {_S.PENDING, _S.RETRYING}
            and all(shown[d] in SETTLED_WELL for d in PLAN.dependencies(k))
        ]
        if not all(shown[k] in SETTLED for k in keys):
            break
    return ready


def phase_by_definition(shown: dict[str, str], phase: str) -> str:
    """Completed when all completed or skipped, failed when all settled, pending when none
    begun, in progress otherwise."""
    statuses = [shown[k] for k in PLAN.in_phase(phase)]
    if all(s in SETTLED_WELL for s in statuses):
        return PhaseStatus.COMPLETED
    if all(s in SETTLED for s in statuses):
        return PhaseStatus.FAILED
    if all(s in {_S.PENDING, _S.SKIPPED} for s in statuses):
        return PhaseStatus.PENDING
    return PhaseStatus.IN_PROGRESS


def job_with(statuses: dict[str, str], status: str) -> RegistrationJob:
    job = RegistrationJob(uuid.uuid4(), "org", {"name": "R"}, {}, "user:test")
    job.status = status
    for key, value in statuses.items():
        job.sub_steps[key].status = value
    return job


ANY_STATUSES = st.fixed_dictionaries({k: st.sampled_from(STORED) for k in PLAN.keys})


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(ANY_STATUSES, st.sampled_from(list(JobStatus)))
def test_runnable_is_its_definition_for_any_statuses(statuses: dict[str, str], status: str) -> None:
    job = job_with(statuses, status)
    assert job.runnable() == runnable_by_definition(job)


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(ANY_STATUSES)
def test_shown_statuses_are_the_stored_ones_with_blocks_in_plan_order(
    statuses: dict[str, str],
) -> None:
    job = job_with(statuses, JobStatus.IN_PROGRESS)
    shown = job.shown_statuses()
    assert shown == display_statuses(statuses)
    assert list(shown) == list(PLAN.keys)
    assert all(type(v) is str for v in shown.values())
    shown.clear()  # each answer is the caller's own: changing it changes nothing in the job
    assert job.shown_statuses() == display_statuses(statuses)


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(ANY_STATUSES)
def test_phase_statuses_are_their_definition_as_plain_strings(statuses: dict[str, str]) -> None:
    job = job_with(statuses, JobStatus.IN_PROGRESS)
    shown = display_statuses(statuses)
    phases = job.phase_statuses()
    assert phases == {p: phase_by_definition(shown, p) for p in PLAN.phases}
    assert list(phases) == list(PLAN.phases)
    assert all(type(v) is str for v in phases.values())


def test_a_job_with_nothing_done_runs_its_first_phase_with_no_dependencies() -> None:
    job = job_with({}, JobStatus.IN_PROGRESS)
    first = PLAN.in_phase(PLAN.phases[0])
    assert job.runnable() == [k for k in first if not PLAN.dependencies(k)]
    assert job_with({}, JobStatus.PENDING).runnable() == []
