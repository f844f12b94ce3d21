"""An API outage opens the circuit: jobs pause instead of failing, and finish once it is back."""

from __future__ import annotations

import logging

import pytest

from infrastructure.engine import CircuitBreaker
from infrastructure.engine.clock import SYSTEM_CLOCK
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
