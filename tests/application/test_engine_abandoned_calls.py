"""A job cancelled while a call was in flight, whose worker then died: engines run only jobs in
progress, yet any worker records that call interrupted once the dead worker's lease has
expired (a restarted process at once, for its earlier incarnation's), and gives the lease back
(SPEC section 6); a call whose worker still holds the job's lease is left for it to record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infrastructure.engine import open_leases
from infrastructure.lease_reads import StoreLeases
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import (
    FAST,
    event_names,
    faults,
    running_engine,
    simulator,
    start_batch,
)
from tests.conftest import own_database_url
from tests.kit import eventually, restaurants

KEY = "restaurantRegistration"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store of this test's own: the session's PostgreSQL database holds leases other tests
    left, which an engine would take too."""
    yield from own_database_url(request, tmp_path, "regflow_abandoned")


def cancelled_in_flight(app: Registrations, job_id: str, worker: str) -> None:
    """`worker` ran phase 1 of the job and called restaurantRegistration; the job was then
    cancelled, the call's outcome not recorded yet."""
    job = app.job(job_id)
    job.claim(worker)
    for key in job.runnable():
        job.start_sub_step(key)
        job.complete_sub_step(key, {"codeInjectionId": "ci-1"})
    job.start_sub_step(KEY)
    job.cancel("user:u-1", "stopped while a call was in flight")
    app.store(job)


async def test_a_worker_records_the_call_of_a_dead_worker_interrupted(
    app: Registrations, settings: Settings
) -> None:
    dead, alive = start_batch(app, restaurants(2))
    leases = open_leases(settings)
    try:
        # The dead worker's lease, expired; the live worker's, renewed as it waits for its call.
        assert leases.claim(dead, "worker-that-died", -1.0)
        assert leases.claim(alive, "worker-waiting", 600.0)
        cancelled_in_flight(app, dead, "worker-that-died")
        cancelled_in_flight(app, alive, "worker-waiting")
        async with simulator() as (sim, url), running_engine(app, settings, url):
            await eventually(lambda: "SubStepInterrupted" in event_names(app, dead))
            await eventually(lambda: leases.claim(dead, "the-next-worker", 1.0))
        job = app.job(dead)
        assert (job.status, job.sub_steps[KEY].status) == ("cancelled", "retrying")
        assert event_names(app, dead).count("SubStepInterrupted") == 1
        assert not sim.calls  # a cancelled job's sub-steps are not run again
        assert app.job(alive).sub_steps[KEY].status == "in_progress"
        assert "SubStepInterrupted" not in event_names(app, alive)
    finally:
        leases.close()


async def test_a_restarted_worker_records_its_earlier_incarnations_call_at_once(
    app: Registrations, settings: Settings
) -> None:
    [job_id] = start_batch(app, restaurants(1))
    me = str(settings.worker_id)
    earlier = open_leases(settings, incarnation="the-process-that-was-killed")
    try:
        assert earlier.claim(job_id, me, 600.0)  # unexpired: the process died a moment ago
        earlier.close()  # its sessions end with it
        cancelled_in_flight(app, job_id, me)
        async with simulator() as (_, url), running_engine(app, settings, url):
            await eventually(lambda: "SubStepInterrupted" in event_names(app, job_id))
        assert app.job(job_id).sub_steps[KEY].status == "retrying"
    finally:
        earlier.close()


async def test_an_answer_that_comes_after_the_interruption_is_refused_and_changes_nothing(
    app: Registrations, settings: Settings
) -> None:
    """The worker that made the call is alive, but an edit found its lease expired (its
    renewals lost, or a clock ahead): the edit records the call interrupted and marks the
    sub-step by hand; the answer that comes later is refused and the log keeps the edit."""
    [job_id] = start_batch(app, restaurants(1))
    async with simulator() as (sim, url):
        faults(sim, {"kind": "timeout", "endpoint": KEY})  # answered at the attempt's timeout
        policies = {"*": replace(FAST, timeout=2.0)}
        async with running_engine(app, settings, url, policies=policies) as engine:
            await eventually(lambda: any(c.sub_step == KEY for c in sim.calls))
            app.cancel(None, job_id, "user:u-1", "stop")
            engine.wake([job_id])
            runner = engine.runners[job_id]
            await eventually(lambda: runner.job.status == "cancelled")  # it waits for the call
            later = datetime.now(UTC) + timedelta(hours=1)
            app.leases = StoreLeases(app.recorder, clock=lambda: later)
            edited = app.edit(None, job_id, [(KEY, "completed", None)], "user:u-1", "by hand")
            assert await engine.run_until_idle(30)  # the run ended once the call answered
    names = event_names(app, job_id)
    interrupted = names.index("SubStepInterrupted")
    assert names[interrupted + 1] == "ManualStatusSet"
    assert len(names) == edited.version  # nothing recorded after the edit
    assert app.job(job_id).sub_steps[KEY].status == "completed"
