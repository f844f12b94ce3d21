"""A job stays with the kind of registration API its calls went to: a worker calling the
simulator never continues a job a real API ran, nor the other way round, and it does not wait
for such a job to finish before it calls itself idle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.job_state import SIMULATED_API
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import event_names, running_engine, simulator, start_batch
from tests.kit import restaurants
from tests.unit.jobs import running_job

LABELS = st.one_of(st.just(SIMULATED_API), st.text(max_size=20))


@given(recorded=LABELS, here=LABELS)
def test_only_a_change_of_kind_is_refused(recorded: str, here: str) -> None:
    job = running_job()
    assert job.may_run_against(here)  # a job no worker has named an API for goes anywhere
    job.claim("worker-1", recorded)
    simulated = (recorded == SIMULATED_API, here == SIMULATED_API)
    assert job.may_run_against(here) is (simulated[0] == simulated[1])
    assert job.may_run_against(None)


def left_by_a_real_api(app: Registrations) -> str:
    """A job in progress whose calls went to a real registration API, its worker gone."""
    [job_id] = start_batch(app, restaurants(1))
    job = app.job(job_id)
    job.claim("worker-gone", "reg.example.com")
    job.start_sub_step("cloudwaitressAccount")
    job.complete_sub_step("cloudwaitressAccount", {"account_id": "real-1"})
    app.store(job)
    return job_id


async def test_a_simulator_worker_leaves_a_real_apis_job_and_runs_its_own(
    app: Registrations, settings: Settings
) -> None:
    foreign = left_by_a_real_api(app)
    before = event_names(app, foreign)
    own = start_batch(app, restaurants(2))
    async with (
        simulator() as (sim, url),
        running_engine(app, settings, url, registration_api=SIMULATED_API) as engine,
    ):
        assert await engine.run_until_idle(timeout=30)
    assert event_names(app, foreign) == before
    assert app.job(foreign).registration_api == "reg.example.com"
    assert not [c for c in sim.calls if c.job == foreign]
    assert [app.job(j).status for j in own] == ["completed", "completed"]


async def test_a_real_api_worker_leaves_a_simulated_job(
    app: Registrations, settings: Settings
) -> None:
    [job_id] = start_batch(app, restaurants(1))
    job = app.job(job_id)
    job.claim("worker-gone", SIMULATED_API)
    app.store(job)
    before = event_names(app, job_id)
    async with (
        simulator() as (sim, url),
        running_engine(app, settings, url, registration_api="127.0.0.1") as engine,
    ):
        assert await engine.run_until_idle(timeout=30)
    assert event_names(app, job_id) == before
    assert not [c for c in sim.calls if c.job == job_id]
