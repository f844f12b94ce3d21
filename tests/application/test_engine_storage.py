"""The seed's checklist: storage writes that fail mid-run are retried and nothing is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing
from functools import partial
from typing import Any

import pytest
from psycopg.errors import AdminShutdown

from domain.plan import PLAN
from infrastructure.engine import Engine
from infrastructure.engine.erasures import ErasureWatch
from infrastructure.executors.simulator.faults import CLOUDFLARE_PAGE
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import FAST, RunEnds, engine_and_simulator, start_batch
from tests.kit import eventually, restaurants


class FlakyStore(Registrations):
    """A store whose next saves fail as a Cloudflare 520 page would."""

    def __init__(self, settings: Settings) -> None:
        self.sleeps: list[float] = []
        self.failures_left = 0
        super().__init__(settings, sleep=self.sleeps.append)

    def save_events(self, events: list[Any]) -> Any:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError(CLOUDFLARE_PAGE)
        return super().save_events(events)


@pytest.fixture
def flaky(settings: Settings) -> Iterator[FlakyStore]:
    with closing(FlakyStore(settings)) as store:
        yield store


def assert_consistent(app: Registrations, job_ids: list[str]) -> None:
    """Every sub-step started and completed exactly once; the batch counters add up."""
    statuses = Counter(str(app.job(j).status) for j in job_ids)
    assert statuses == {"completed": len(job_ids)}
    for job_id in job_ids:
        events = list(app.events.get(app.job(job_id).id))
        assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
        for kind in ("SubStepStarted", "SubStepCompleted"):
            keys = Counter(e.sub_step for e in events if type(e).__name__ == kind)
            assert keys == Counter(PLAN.keys), kind


async def run_with_failing_saves(flaky: FlakyStore, settings: Settings, failures: int) -> RunEnds:
    """Three jobs run; once calls have begun, the next `failures` saves fail; how runs ended."""
    runs = RunEnds()
    async with engine_and_simulator(flaky, settings, runner=runs.runner) as (sim, engine):
        await eventually(lambda: len(sim.calls) >= 4)
        flaky.failures_left = failures
        assert await engine.run_until_idle(30)
    return runs


async def test_a_cloudflare_520_on_a_write_is_retried_at_1_2_4_seconds(
    flaky: FlakyStore, settings: Settings
) -> None:
    job_ids = start_batch(flaky, restaurants(3))
    await run_with_failing_saves(flaky, settings, failures=3)
    assert flaky.sleeps == [1.0, 2.0, 4.0]
    assert_consistent(flaky, job_ids)


async def test_a_store_down_longer_than_the_retries_loses_nothing(
    flaky: FlakyStore, settings: Settings
) -> None:
    job_ids = start_batch(flaky, restaurants(3))
    runs = await run_with_failing_saves(flaky, settings, failures=9)
    assert flaky.sleeps[:4] == [1.0, 2.0, 4.0, 1.0]
    assert runs.of(job_ids) == {job_id: ["completed"] for job_id in job_ids}
    assert_consistent(flaky, job_ids)


class LooksThatFail:
    """The store read each call makes just before it is sent (the look for erasures), failing
    as a connection the server ended does, `failures` times, then answering from the store."""

    def __init__(self, engine: Engine, app: Registrations, failures: int) -> None:
        self.failures_left = failures
        self._look = partial(engine.shared.gateway.run, app.keyring.destroyed_keys)

    async def __call__(self) -> Mapping[str, int]:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise AdminShutdown("terminating connection due to administrator command")
        return await self._look()


@pytest.mark.parametrize("failures", [1, FAST.max_attempts * len(PLAN.keys)])
async def test_a_store_error_just_before_a_call_is_not_counted_as_an_attempt(
    app: Registrations, settings: Settings, failures: int
) -> None:
    """The attempt is recorded as a retry that does not count, saying the API was not called:
    however many times the store fails there, no sub-step runs out of attempts (the
    simulator never fails, so the policy of 3 has nothing to count), and each sub-step's
    call is made once."""
    async with engine_and_simulator(app, settings) as (sim, engine):
        looks = LooksThatFail(engine, app, failures)
        engine.shared.erasures = ErasureWatch(looks, lambda: None, engine.shared.clock)
        [job_id] = start_batch(app, restaurants(1))
        engine.wake([job_id])
        assert await engine.run_until_idle(60)
    assert looks.failures_left == 0
    assert str(app.job(job_id).status) == "completed"
    events = list(app.events.get(app.job(job_id).id))
    retries = [e for e in events if type(e).__name__ == "SubStepRetryScheduled"]
    assert len(retries) == failures
    assert all(not e.counted and e.error.startswith("not called: the store") for e in retries)
    assert "57P01" in retries[0].error or "administrator command" in retries[0].error
    made = [c for c in sim.calls if c.job == job_id]
    assert Counter(c.sub_step for c in made) == Counter(PLAN.keys)
