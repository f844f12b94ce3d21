"""Job leases: one holder at a time, expiry frees a job, the same worker takes its own back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.engine import Engine, Leases, LogWorkSource, open_leases
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import (
    ListingReadBefore,
    RunEnds,
    running_engine,
    simulator,
    start_batch,
)
from tests.kit import eventually, restaurants, until


@pytest.fixture
def leases(settings: Settings, app: Registrations) -> Iterator[Leases]:
    table = open_leases(settings)
    yield table
    table.close()


def job() -> str:
    return str(uuid.uuid4())


class TestLeases:
    def test_a_held_lease_refuses_another_worker(self, leases: Leases) -> None:
        job_id = job()
        assert leases.claim(job_id, "a", 30)
        assert not leases.claim(job_id, "b", 30)
        assert leases.busy([job_id], "b") == {job_id}

    def test_the_same_worker_takes_its_lease_back_at_once(self, leases: Leases) -> None:
        job_id = job()
        assert leases.claim(job_id, "a", 30)
        assert leases.claim(job_id, "a", 30)

    def test_an_expired_lease_can_be_taken_and_is_lost_to_its_old_holder(
        self, leases: Leases
    ) -> None:
        job_id = job()
        assert leases.claim(job_id, "a", 0.05)
        assert until(lambda: leases.claim(job_id, "b", 30), timeout=5)
        assert leases.renew([job_id], "a", 30) == set()
        assert leases.renew([job_id], "b", 30) == {job_id}

    def test_a_released_lease_is_free(self, leases: Leases) -> None:
        job_id = job()
        leases.claim(job_id, "a", 30)
        leases.release([job_id], "a")
        assert leases.claim(job_id, "b", 30)


def test_the_log_work_source_lists_jobs_in_progress_only(app: Registrations) -> None:
    source = LogWorkSource(app)
    job_ids = start_batch(app, restaurants(2))
    assert set(source.runnable_job_ids(100)) >= set(job_ids)
    app.cancel(None, job_ids[0], "user:test", "no longer needed")
    listed = source.runnable_job_ids(100)
    assert job_ids[0] not in listed and job_ids[1] in listed


class SlowClaims:
    """The engine's lease table, its claims landing a while after they are asked for."""

    def __init__(self, leases: Leases, delay: float) -> None:
        self.leases = leases
        self.delay = delay
        self.asked = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.leases, name)

    def claim(self, job_id: str, worker_id: str, seconds: float) -> bool:
        self.asked.set()
        time.sleep(self.delay)
        return self.leases.claim(job_id, worker_id, seconds)


@pytest.mark.parametrize("stop_after", [0.0, 0.05, 0.3])
async def test_a_stopped_engine_holds_no_lease_even_with_a_claim_in_flight(
    app: Registrations, settings: Settings, stop_after: float
) -> None:
    """A claim that lands after the discovery was cancelled is given back at the stop: the
    next worker to look for work is not kept waiting out a lease nobody renews."""
    job_ids = start_batch(app, restaurants(12))
    leases = SlowClaims(open_leases(settings), delay=0.2)
    async with simulator() as (_, url), running_engine(app, settings, url, leases=leases):
        await eventually(leases.asked.is_set)
        time.sleep(stop_after)  # the stop lands before, during or after the claim
    other = open_leases(settings)
    try:
        assert other.busy(job_ids, "the-next-worker") == set()
    finally:
        other.close()


class LooksForWorkAsItReleases(Engine):
    """An engine that, as each run's lease is about to be given back, looks for work with a
    listing that still names the run's job."""

    looks = 0

    async def _release(self, job_id: str) -> None:
        source = self.work_source
        assert isinstance(source, ListingReadBefore)
        source.late = [job_id]
        try:
            async with self.claiming:
                await self._discover()
                self.looks += 1
        finally:
            source.late = []
        await super()._release(job_id)


async def test_a_job_is_not_taken_again_while_the_lease_of_its_settled_run_is_given_back(
    app: Registrations, settings: Settings
) -> None:
    """A look for work made while a settled run's lease is given back, its listing naming the
    job, claims nothing: no run is made that finds nothing to do. A lease a gone worker left
    on a cancelled job (as earlier tests leave on a shared store) is taken over beside them."""
    job_ids = start_batch(app, restaurants(3))
    left = start_batch(app, restaurants(1))[0]
    app.cancel(None, left, "user:test", "no longer needed")
    gone = open_leases(settings)
    try:
        assert gone.claim(left, "a-worker-that-is-gone", 0.01)
        assert until(lambda: left in gone.abandoned("any-other-worker", 10_000), timeout=5)
    finally:
        gone.close()
    source = ListingReadBefore(app, job_ids)
    runs = RunEnds()
    async with (
        simulator() as (_, url),
        running_engine(
            app, settings, url, LooksForWorkAsItReleases, work_source=source, runner=runs.runner
        ) as engine,
    ):
        assert await engine.run_until_idle(60)
    assert isinstance(engine, LooksForWorkAsItReleases)
    assert engine.looks >= len(job_ids)
    assert runs.of(job_ids) == {job_id: ["completed"] for job_id in job_ids}
    # Taken over unless the shared store holds older abandoned leases the engine takes first.
    assert runs.of([left])[left] in ([], ["not running"])
    assert {str(app.job(j).status) for j in job_ids} == {"completed"}
