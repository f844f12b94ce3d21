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
