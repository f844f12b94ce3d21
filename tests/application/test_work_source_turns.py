"""The log's work source hands out in-progress jobs with organisations taking turns."""

from __future__ import annotations

from infrastructure.engine.work_source import LogWorkSource
from infrastructure.usecases.registrations import Registrations
from tests.reliability.flow_kit import start_org_batch


def test_organisations_take_turns_in_start_order(app: Registrations) -> None:
    _, large = start_org_batch(app, 4)
    _, small = start_org_batch(app, 2)
    ours = [j for j in LogWorkSource(app).runnable_job_ids(10_000) if j in large | small]
    assert [j in small for j in ours] == [False, True, False, True, False, False]


def test_a_finished_job_leaves_the_turns(app: Registrations) -> None:
    org, jobs = start_org_batch(app, 2)
    source = LogWorkSource(app)
    assert jobs <= set(source.runnable_job_ids(10_000))
    first = sorted(jobs)[0]
    app.cancel(org, first, "user:test", "not needed")
    assert first not in source.runnable_job_ids(10_000)


def test_only_jobs_that_may_still_start_are_remembered(app: Registrations) -> None:
    """Every job the store ever held would otherwise stay in the source's memory for good."""
    source = LogWorkSource(app)
    for _ in range(3):
        org, jobs = start_org_batch(app, 20)
        for job in jobs:
            app.cancel(org, job, "user:test", "done with it")
        source.runnable_job_ids(10_000)
        assert not jobs & set(source._organisation)
        assert not any(job in source._in_progress for job in jobs)


def test_a_resumed_job_takes_its_own_organisations_turn(app: Registrations) -> None:
    org, first = start_org_batch(app, 3)
    _, second = start_org_batch(app, 3)
    source = LogWorkSource(app)
    source.runnable_job_ids(10_000)
    stopped = sorted(first)[0]
    app.cancel(org, stopped, "user:test", "try again")
    assert stopped not in source.runnable_job_ids(10_000)
    app.resume(org, stopped, "user:test", "again")
    ours = [j for j in source.runnable_job_ids(10_000) if j in first | second]
    assert [j in first for j in ours] == [True, False, True, False, True, False]
    assert ours[-2] == stopped
