"""An API outage opens the circuit: jobs pause instead of failing, and finish once it is back."""

from __future__ import annotations

import asyncio
import logging

import pytest

from infrastructure.engine import CircuitBreaker
from infrastructure.engine.clock import SYSTEM_CLOCK
from infrastructure.engine.engine import HELD_PER_PLACE
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import faults, running_engine, simulator, start_batch
from tests.kit import eventually, restaurants


async def test_jobs_pause_during_an_outage_and_finish_after_it(
    app: Registrations, settings: Settings
) -> None:
    job_ids = start_batch(app, restaurants(4))
    circuit = CircuitBreaker(threshold=4, cooldown=0.05, max_cooldown=0.2, clock=SYSTEM_CLOCK)
    async with simulator() as (sim, url):
        faults(sim, {"kind": "unavailable"})
        async with running_engine(app, settings, url, circuit=circuit) as engine:
            await eventually(lambda: engine.status()["circuit"] != "closed")
            await eventually(lambda: len(sim.calls) >= 30)
            failed_during = [j for j in job_ids if app.job(j).last_error is not None]
            assert failed_during == []
            assert all(app.job(j).status == "in_progress" for j in job_ids)
            faults(sim)
            assert await engine.run_until_idle(30)
    assert {str(app.job(j).status) for j in job_ids} == {"completed"}
    assert circuit.state == "closed"


async def test_one_endpoint_failing_for_good_ends_its_jobs_not_a_pause_for_ever(
    app: Registrations, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """When the only calls left are one endpoint's and it keeps failing, a run of transient
    errors across jobs reads as an outage: the circuit opens, and every probe fails again.
    Paused for ever, those jobs retried for ever. After `max_pause` with no success the
    circuit closes for good (until a success): their attempts count, and they fail as their
    policy says, the sub-steps after them blocked, the rest done."""
    job_ids = start_batch(app, restaurants(4))
    circuit = CircuitBreaker(
        threshold=2, cooldown=0.05, max_cooldown=0.2, max_pause=1.5, clock=SYSTEM_CLOCK
    )
    caplog.set_level(logging.WARNING, "regflow.engine")  # whatever another test left it at
    async with simulator() as (sim, url):
        faults(sim, {"kind": "cloudflare", "endpoint": "paymentConfig"})
        async with running_engine(app, settings, url, circuit=circuit) as engine:
            await eventually(lambda: circuit.paused_since is not None)
            assert await engine.run_until_idle(60)
    jobs = [app.job(j) for j in job_ids]
    assert {str(job.status) for job in jobs} == {"failed"}
    assert {str(job.sub_steps["paymentConfig"].status) for job in jobs} == {"failed"}
    assert circuit.state == "closed"
    assert "longer than an outage is waited out" in caplog.text
    assert all(str(job.sub_steps["cloudwaitressAccount"].status) == "completed" for job in jobs)


async def test_jobs_paused_on_one_failing_endpoint_leave_their_places_to_the_rest(
    app: Registrations, settings: Settings
) -> None:
    """A tester's batch: one endpoint answering 503s opened the circuit, every probe was a
    call of that endpoint, and the jobs waiting on it held every place a worker runs jobs in,
    so the rest of the batch did not start until the pause's bound (the simulator received no
    call of theirs). A job that only waits now holds no place, and probes take turns: the
    other jobs start, run every healthy sub-step long before the bound, and the failing
    endpoint's jobs fail as their policy says."""
    job_ids = start_batch(app, restaurants(6))
    bound = 12.0
    circuit = CircuitBreaker(
        threshold=2, cooldown=0.2, max_cooldown=1.0, max_pause=bound, clock=SYSTEM_CLOCK
    )
    one_place = settings.model_copy(update={"max_concurrent_jobs": 1})

    def healthy_done() -> bool:
        return all(
            str(app.job(j).sub_steps[key].status) == "completed"
            for j in job_ids
            for key in ("cloudwaitressAccount", "restaurantRegistration", "servicesConfig")
        )

    async with simulator() as (sim, url):
        faults(sim, {"kind": "unavailable", "endpoint": "paymentConfig"})
        async with running_engine(app, one_place, url, circuit=circuit) as engine:
            await eventually(healthy_done, timeout=bound)
            assert not circuit.gave_up, "every job ran its healthy sub-steps before the bound"
            assert await engine.run_until_idle(60)
            assert len(engine.runners) == 0
    jobs = [app.job(j) for j in job_ids]
    assert {str(job.sub_steps["paymentConfig"].status) for job in jobs} == {"failed"}
    assert {str(job.status) for job in jobs} == {"failed"}


async def test_a_worker_holds_jobs_that_only_wait_up_to_a_bound(
    app: Registrations, settings: Settings
) -> None:
    """During an outage every job waits for the circuit: the worker takes more jobs, as they
    hold no place, but holds no more than `HELD_PER_PLACE` times its places."""
    start_batch(app, restaurants(12))
    circuit = CircuitBreaker(threshold=2, cooldown=30.0, max_cooldown=30.0, clock=SYSTEM_CLOCK)
    two_places = settings.model_copy(update={"max_concurrent_jobs": 2})
    most = 0
    async with simulator() as (sim, url):
        faults(sim, {"kind": "unavailable"})
        async with running_engine(app, two_places, url, circuit=circuit) as engine:
            await eventually(lambda: circuit.state == "open")
            for _ in range(40):
                most = max(most, len(engine.runners))
                await asyncio.sleep(0.05)
            await eventually(lambda: len(engine.runners) == HELD_PER_PLACE * 2)
    assert most <= HELD_PER_PLACE * 2
